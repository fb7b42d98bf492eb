import BatonCore

/// Why the scheduler cannot plan a job revision; the tick parks that job with this reason.
package struct Unplannable: Error {
    package var reason: String
}

/// The tick's view of one job revision: resolved schedule, policy and queue.
package final class TickInputs: Sendable {
    package let schedule: Schedule
    package let policy: JobPolicy
    package let queue: String

    init(schedule: Schedule, policy: JobPolicy, queue: String) {
        self.schedule = schedule
        self.policy = policy
        self.queue = queue
    }

    /// A stored spec read and its schedule resolved, or why this build cannot.
    package static func plannable(_ json: String, createdAt: Timestamp) throws(Unplannable) -> (JobSpec, Schedule) {
        let spec: JobSpec
        do {
            spec = try StoredSpec.decode(json)
        } catch {
            throw Unplannable(reason: error.message)
        }
        do {
            return (spec, try Schedule(spec.schedule, createdAt: createdAt))
        } catch {
            let field = error.code == .unknownTimeZone ? "schedule.timezone" : "schedule.cron"
            throw Unplannable(reason: "this scheduler cannot evaluate the stored schedule: \(field): \(error.message)")
        }
    }
}

/// (job row, revision) → ``TickInputs``, with identical inputs shared: 100,000 jobs `* * * * *` with the default
/// policy hold one ``TickInputs`` between them. A revision never changes, so an entry never goes stale.
///
/// Why: parsing every due job's spec on every tick was most of the leader's CPU at 1,000 tickets/s; caching whole
/// specs cost ~0.7 KB per job (a quarter of the leader's memory at 100,000 jobs), hence the smaller value and the
/// larger bound (``StoreCaches``).
package final class TickInputsCache: Sendable {
    private struct Key: Hashable, Sendable {
        var seq: Int64
        var revision: Int64
    }

    /// Everything a resolved schedule depends on, plus policy and queue.
    private struct Content: Hashable, Sendable {
        var schedule: ScheduleSpec
        /// The job's creation time when an `every` schedule has no anchor (it anchors there), else nil.
        var anchor: Timestamp?
        var policy: JobPolicy
        var queue: String
    }

    private let byRevision: BoundedCache<Key, TickInputs>
    private let interned: BoundedCache<Content, TickInputs>

    package init(limit: Int) {
        byRevision = BoundedCache(limit: limit)
        interned = BoundedCache(limit: limit)
    }

    package func value(seq: Int64, revision: Int64, load: () throws -> (JobSpec, Schedule)) throws -> TickInputs {
        if let hit = byRevision[Key(seq: seq, revision: revision)] { return hit }
        return store(Key(seq: seq, revision: revision), try load())
    }

    /// The cached inputs of a revision, without loading: a backend that reads the missing specs in one batch asks
    /// first which ones are missing.
    package func cached(seq: Int64, revision: Int64) -> TickInputs? { byRevision[Key(seq: seq, revision: revision)] }

    /// The async form, for a backend whose spec read is a network round trip.
    package func value(seq: Int64, revision: Int64, loading: () async throws -> (JobSpec, Schedule)) async throws -> TickInputs {
        if let hit = byRevision[Key(seq: seq, revision: revision)] { return hit }
        return store(Key(seq: seq, revision: revision), try await loading())
    }

    private func store(_ key: Key, _ loaded: (JobSpec, Schedule)) -> TickInputs {
        let (spec, schedule) = loaded
        var anchor: Timestamp?
        if case .every = spec.schedule.kind, spec.schedule.anchor == nil, case .every(_, let at) = schedule.rule { anchor = at }
        let content = Content(schedule: spec.schedule, anchor: anchor, policy: spec.policy, queue: spec.queue)
        let shared = interned.value(for: content) { TickInputs(schedule: schedule, policy: spec.policy, queue: spec.queue) }
        byRevision.insert(shared, for: key)
        return shared
    }
}

/// One due job as the tick reads it from its row, whatever the backend.
package struct DueJob: Sendable {
    package var seq: Int64
    package var id: JobID
    package var name: String
    package var revision: Int64
    package var state: JobState
    package var createdAt: Timestamp
    package var watermark: Timestamp
    package var nextFireAt: Timestamp?
    package var unrecordedSkips: Int

    package init(
        seq: Int64, id: JobID, name: String, revision: Int64, state: JobState, createdAt: Timestamp, watermark: Timestamp,
        nextFireAt: Timestamp?, unrecordedSkips: Int
    ) {
        self.seq = seq
        self.id = id
        self.name = name
        self.revision = revision
        self.state = state
        self.createdAt = createdAt
        self.watermark = watermark
        self.nextFireAt = nextFireAt
        self.unrecordedSkips = unrecordedSkips
    }

    /// What BatonCore's planner reads of this job.
    package func subject(_ inputs: TickInputs) -> TickPlanner.Subject {
        TickPlanner.Subject(
            id: id, state: state, watermark: watermark, nextFireAt: nextFireAt, policy: inputs.policy,
            unrecordedSkips: unrecordedSkips)
    }

    /// Whether the planner needs the number of unfinished tickets (catch-up all + overlap forbid: its queue is
    /// bounded) or only whether there is one, which costs less.
    package func needsUnfinishedCount(_ inputs: TickInputs) -> Bool {
        inputs.policy.catchup == .all && inputs.policy.overlap == .forbid
    }

    package func parked(_ reason: String) -> ParkedJob {
        ParkedJob(id: id, name: name, revision: revision, reason: reason)
    }
}

extension TickReport {
    /// Records one planned ticket's write: `seq` is the new row's key, nil when the ticket already existed.
    package mutating func record(_ planned: PlannedTicket, seq: Int64?, job: DueJob, queue: String, epoch: Int64) {
        guard let seq else {
            duplicates += 1
            return
        }
        byJob[job.name, default: JobTicketCounts()].count(planned.state)
        if planned.state == .pending {
            written.append(
                DueTicket(
                    seq: seq, id: planned.id, jobID: job.id, slot: planned.slot, epoch: epoch, queue: queue,
                    notBefore: planned.notBefore))
        } else {
            skipped += 1
        }
    }

    /// Records the plan's skipped slots beyond those written as tickets.
    package mutating func recordUnrecorded(_ plan: TickPlan, job: DueJob) {
        unrecordedSkips += plan.unrecordedSkips
        if plan.unrecordedSkips > 0 { byJob[job.name, default: JobTicketCounts()].unrecorded += plan.unrecordedSkips }
    }
}
