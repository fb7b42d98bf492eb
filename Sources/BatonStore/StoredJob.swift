import BatonCore
import Foundation

/// A job spec as every backend stores it: JSON text with sorted keys, read back leniently.
package enum StoredSpec {
    package static func encode(_ spec: JobSpec) throws(StoreError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(spec), as: UTF8.self)
        } catch {
            throw StoreError(.corrupt, "cannot encode job spec: \(error)")
        }
    }

    /// A stored spec, read leniently (``JobSpec/Reading/stored``): a newer gateway may have written fields this build
    /// does not know. What still fails is a spec this build cannot represent at all.
    package static func decode(_ json: String) throws(StoreError) -> JobSpec {
        do {
            return try JobSpec.parse(json: Data(json.utf8), reading: .stored)
        } catch {
            throw StoreError(.corrupt, "the stored spec cannot be read by this build of Baton: \(error)")
        }
    }

}

/// The columns of a `job` row, as both backends store them, and the ``Job`` they mean.
package struct StoredJobRow {
    package var id: String
    package var name: String
    package var revision: Int64
    package var spec: String
    package var state: String
    package var queue: String
    package var createdAt: Timestamp
    package var updatedAt: Timestamp
    package var watermark: Timestamp
    package var nextFireAt: Timestamp?
    package var lastTicket: TicketID?
    package var lastSuccessAt: Timestamp?
    package var lastFailureAt: Timestamp?
    package var parkedRevision: Int64?
    package var parkedReason: String?

    package init(
        id: String, name: String, revision: Int64, spec: String, state: String, queue: String, createdAt: Timestamp,
        updatedAt: Timestamp, watermark: Timestamp, nextFireAt: Timestamp?, lastTicket: TicketID?, lastSuccessAt: Timestamp?,
        lastFailureAt: Timestamp?, parkedRevision: Int64?, parkedReason: String?
    ) {
        self.id = id
        self.name = name
        self.revision = revision
        self.spec = spec
        self.state = state
        self.queue = queue
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.watermark = watermark
        self.nextFireAt = nextFireAt
        self.lastTicket = lastTicket
        self.lastSuccessAt = lastSuccessAt
        self.lastFailureAt = lastFailureAt
        self.parkedRevision = parkedRevision
        self.parkedReason = parkedReason
    }

    /// The job in this row, its spec parsed once per revision through `specs`. A spec this process cannot read does not
    /// make the row unreadable: the job comes back parked, with a stand-in spec, so it can still be listed, shown,
    /// replaced and deleted.
    package func job(specs: SpecCache) -> Job {
        // Parked by a scheduler at this revision; a later revision (written by any binary) is not.
        let parked = parkedRevision == revision ? parkedReason : nil
        do {
            let spec = try specs.value(for: RevisionKey(job: id, revision: revision)) { () throws(StoreError) in try StoredSpec.decode(self.spec) }
            var job = job(spec: spec)
            if let parked {
                job.state = .parked
                job.parking = Parking(reason: parked, specReadable: true)
            }
            return job
        } catch {
            let standIn = JobSpec(
                name: name, schedule: ScheduleSpec(.at(createdAt)), action: .noop, paused: state == JobState.paused.rawValue,
                queue: queue)
            var job = job(spec: standIn)
            job.state = .parked
            job.parking = Parking(reason: parked ?? error.message, specReadable: false)
            return job
        }
    }

    private func job(spec: JobSpec) -> Job {
        Job(
            id: JobID(rawValue: id), revision: revision, spec: spec, state: JobState(rawValue: state) ?? .active,
            createdAt: createdAt, updatedAt: updatedAt, watermark: watermark, nextFireAt: nextFireAt, lastTicket: lastTicket,
            lastSuccessAt: lastSuccessAt, lastFailureAt: lastFailureAt)
    }
}

extension Job {
    /// `If-Match`: refuses a change aimed at another revision.
    package func check(ifRevision: Int64?) throws(StoreError) {
        if let ifRevision, ifRevision != revision {
            throw StoreError(.revisionMismatch, "job \"\(name)\" is at revision \(revision), not \(ifRevision)")
        }
    }

    /// Refuses an operation that needs the stored spec of a job this process cannot read.
    package func requireReadableSpec(for operation: String) throws(StoreError) {
        if let parking, !parking.specReadable {
            throw StoreError(
                .conflict,
                "job \"\(name)\" is parked and its spec cannot be read here, so it cannot be \(operation); "
                    + "replace it with PUT or delete it (\(parking.reason))")
        }
    }
}

/// Where a job row's schedule stands after a create or an edit: the columns both backends write.
package struct JobPosition: Equatable {
    package var state: JobState
    package var watermark: Timestamp
    package var nextFireAt: Timestamp?
    /// When the scheduler should look at the job (only an active job is looked at).
    package var dueAt: Timestamp? { state == .active ? nextFireAt : nil }

    /// A new job: its watermark is its creation time, so no past slot runs.
    package static func created(_ spec: JobSpec, now: Timestamp) throws -> JobPosition {
        try JobPosition(spec: spec, createdAt: now, watermark: now)
    }

    /// A new revision. Schedule edits apply after the watermark; a resumed job skips the paused time (its watermark
    /// moves to now, CONTRACT §9a "Pause").
    package static func edited(_ existing: Job, to spec: JobSpec, now: Timestamp) throws -> JobPosition {
        var watermark = existing.watermark
        if existing.spec.paused && !spec.paused { watermark = max(watermark, now) }
        return try JobPosition(spec: spec, createdAt: existing.createdAt, watermark: watermark)
    }

    private init(spec: JobSpec, createdAt: Timestamp, watermark: Timestamp) throws {
        let next = try Schedule(spec.schedule, createdAt: createdAt).nextSlot(after: watermark)
        self.watermark = watermark
        self.nextFireAt = next
        self.state = spec.paused ? .paused : next == nil ? .completed : .active
    }
}

extension Job {
    /// This job after an edit to `spec` stored as `revision` at `position`.
    package func edited(to spec: JobSpec, revision: Int64, position: JobPosition, now: Timestamp) -> Job {
        var job = self
        job.revision = revision
        job.spec = spec
        job.state = position.state
        job.updatedAt = now
        job.watermark = position.watermark
        job.nextFireAt = position.nextFireAt
        job.parking = nil
        return job
    }
}

extension Job {
    /// The spec a pause or resume writes, or nil when the job already is so. Refuses a stale `If-Match`, and a job
    /// whose stored spec this build cannot read (writing it back would lose what it does not understand).
    package func pausedSpec(_ paused: Bool, ifRevision: Int64?) throws(StoreError) -> JobSpec? {
        try check(ifRevision: ifRevision)
        try requireReadableSpec(for: paused ? "paused" : "resumed")
        guard spec.paused != paused else { return nil }
        var edited = spec
        edited.paused = paused
        return edited
    }
}
