/// What the leader writes for one job at one tick.
public struct TickPlan: Sendable, Equatable {
    public var tickets: [PlannedTicket] = []
    /// `overlap: replace`: cancel the job's unfinished tickets before these are written.
    public var cancelUnfinished = false
    /// The newest slot this plan consumed (ticketed or skipped).
    public var watermark: Timestamp
    public var nextFireAt: Timestamp?
    /// When the scheduler should look at the job again, compared against `now + lookahead`.
    public var dueAt: Timestamp?
    public var state: JobState
    /// Skipped slots beyond the 100 recorded (CONTRACT §4), for the metric.
    public var unrecordedSkips = 0

    public init(watermark: Timestamp, nextFireAt: Timestamp?, dueAt: Timestamp?, state: JobState) {
        self.watermark = watermark
        self.nextFireAt = nextFireAt
        self.dueAt = dueAt
        self.state = state
    }
}

public struct PlannedTicket: Sendable, Equatable {
    public var id: TicketID
    public var slot: Timestamp
    /// `.pending` or `.skipped`.
    public var state: TicketState
    public var reason: TicketReason?
    public var detail: String?
    /// Slot plus the job's hash-derived jitter.
    public var notBefore: Timestamp
    /// Start deadline: skipped (misfire) if not claimed by then.
    public var deadline: Timestamp?
    /// Catch-up `latest`: the deadline applies only once a newer ticket of the job exists.
    public var deadlineIfNewer: Bool
    /// `overlap: forbid`: claimable only when no earlier ticket of the job is unfinished.
    public var serialized: Bool
    public var maxAttempts: Int
}

/// The pure scheduling decision for one job (CONTRACT §4 catch-up and overlap, §9a).
///
/// Slots in `(watermark, now + lookahead]` are classified as missed (reached more than
/// `misfireGrace` late), on time, or ahead (not yet due). Catch-up picks which missed
/// slots run; overlap decides whether a slot runs beside an unfinished ticket. A slot
/// that is ahead and whose overlap cannot be judged yet is deferred: the watermark stops
/// before it and the job is looked at again when the slot is due.
public enum TickPlanner {
    /// Missed slots run under catch-up `all`; older ones are skipped.
    public static let catchupLimit = 100
    /// Skipped slots recorded as tickets per job per tick; the rest are counted in the last one's detail.
    public static let skipRecordLimit = 100
    /// Slots enumerated per job per tick; a longer backlog continues at the next tick.
    public static let enumerationLimit = 100_000

    /// What the planner reads of a job: its position and its policy (not the whole spec, which the leader does not
    /// keep in memory for every job).
    public struct Subject: Sendable, Equatable {
        public var id: JobID
        public var state: JobState
        public var watermark: Timestamp
        public var nextFireAt: Timestamp?
        public var policy: JobPolicy

        public init(id: JobID, state: JobState, watermark: Timestamp, nextFireAt: Timestamp?, policy: JobPolicy) {
            self.id = id
            self.state = state
            self.watermark = watermark
            self.nextFireAt = nextFireAt
            self.policy = policy
        }

        public init(_ job: Job) {
            self.init(id: job.id, state: job.state, watermark: job.watermark, nextFireAt: job.nextFireAt, policy: job.spec.policy)
        }
    }

    public static func plan(
        job: Job, schedule: Schedule, hasUnfinished: Bool, now: Timestamp, lookahead: TimeSpan
    ) -> TickPlan {
        plan(Subject(job), schedule: schedule, hasUnfinished: hasUnfinished, now: now, lookahead: lookahead)
    }

    public static func plan(
        _ job: Subject, schedule: Schedule, hasUnfinished: Bool, now: Timestamp, lookahead: TimeSpan
    ) -> TickPlan {
        let policy = job.policy
        guard job.state == .active else {
            return TickPlan(watermark: job.watermark, nextFireAt: job.nextFireAt, dueAt: nil, state: job.state)
        }
        let horizon = now + lookahead

        // 1. Enumerate the slots in (watermark, horizon].
        var slots: [Timestamp] = []
        var cursor = job.watermark
        var truncated = false
        while let next = schedule.nextSlot(after: cursor), next <= horizon {
            slots.append(next)
            cursor = next
            if slots.count == enumerationLimit {
                truncated = true
                break
            }
        }

        // 2. Classify due slots and apply catch-up.
        let due = slots.filter { $0 <= now }
        let ahead = slots.filter { $0 > now }
        let missed = due.filter { now - $0 > policy.misfireGrace }
        let onTime = due.filter { now - $0 <= policy.misfireGrace }
        var run: [Timestamp] = []
        var skipped: [(Timestamp, TicketReason)] = []
        switch policy.catchup {
        case .all:
            let kept = missed.suffix(catchupLimit)
            skipped += missed.dropLast(kept.count).map { ($0, .catchupLimit) }
            run = Array(kept) + onTime
        case .latest:
            if onTime.isEmpty, let newest = missed.last {
                skipped += missed.dropLast().map { ($0, .misfire) }
                run = [newest]
            } else {
                skipped += missed.map { ($0, .misfire) }
                run = onTime
            }
        case .none:
            skipped += missed.map { ($0, .misfire) }
            run = onTime
        }

        // 3. Overlap, in slot order.
        var written: [Timestamp] = []
        var deferred: Timestamp?
        var busy = hasUnfinished
        var cancel = false
        switch policy.overlap {
        case .allow:
            written = run + ahead
        case .forbid:
            for slot in run {
                if busy && policy.catchup != .all {
                    skipped.append((slot, .overlap))
                } else {
                    written.append(slot)
                    busy = true
                }
            }
        case .replace:
            if let newest = run.last {
                skipped += run.dropLast().map { ($0, .overlap) }
                written.append(newest)
                cancel = busy
                busy = true
            }
        }
        if policy.overlap != .allow, let first = ahead.first {
            if busy {
                deferred = first
            } else {
                written.append(first)
                deferred = ahead.dropFirst().first
            }
        }
        skipped.sort { $0.0 < $1.0 }

        // 4. Turn decisions into tickets.
        var plan = TickPlan(watermark: job.watermark, nextFireAt: nil, dueAt: nil, state: .active)
        plan.cancelUnfinished = cancel
        let recorded = skipped.suffix(skipRecordLimit)
        plan.unrecordedSkips = skipped.count - recorded.count
        for (index, (slot, reason)) in recorded.enumerated() {
            var detail = skipDetail(reason, slot: slot, now: now, policy: policy)
            if index == recorded.count - 1, plan.unrecordedSkips > 0 {
                detail += "; \(plan.unrecordedSkips) earlier skipped slots were not recorded"
            }
            plan.tickets.append(
                PlannedTicket(
                    id: TicketID.scheduled(job: job.id, slot: slot), slot: slot, state: .skipped, reason: reason,
                    detail: detail, notBefore: slot, deadline: nil, deadlineIfNewer: false, serialized: false,
                    maxAttempts: policy.retry.maxAttempts))
        }
        for slot in written {
            let id = TicketID.scheduled(job: job.id, slot: slot)
            let deadline: Timestamp? = policy.catchup == .all ? nil : slot + policy.misfireGrace
            plan.tickets.append(
                PlannedTicket(
                    id: id, slot: slot, state: .pending, reason: nil, detail: nil,
                    notBefore: slot + id.jitter(below: policy.jitter), deadline: deadline,
                    deadlineIfNewer: policy.catchup == .latest, serialized: policy.overlap == .forbid,
                    maxAttempts: policy.retry.maxAttempts))
        }
        plan.tickets.sort { $0.slot < $1.slot }

        // 5. Where the job stands now.
        let consumed = (written + skipped.map(\.0)).filter { slot in deferred.map { slot < $0 } ?? true }
        plan.watermark = max(job.watermark, consumed.max() ?? job.watermark)
        plan.nextFireAt = schedule.nextSlot(after: plan.watermark)
        if let deferred {
            // Judge it when it is due: looked at again once `now + lookahead` reaches `deferred + lookahead`.
            plan.dueAt = deferred + lookahead
        } else if truncated {
            plan.dueAt = now
        } else {
            plan.dueAt = plan.nextFireAt
        }
        plan.state = plan.nextFireAt == nil ? .completed : .active
        return plan
    }

    static func skipDetail(_ reason: TicketReason, slot: Timestamp, now: Timestamp, policy: JobPolicy) -> String {
        switch reason {
        case .overlap:
            return "an earlier ticket of the job was unfinished (overlap: \(policy.overlap.rawValue))"
        case .catchupLimit:
            return "missed by \(now - slot); catch-up all runs only the newest \(catchupLimit) missed slots"
        default:
            return "missed by \(now - slot), more than misfireGrace \(policy.misfireGrace) (catchup: \(policy.catchup.rawValue))"
        }
    }
}
