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
    /// Skipped slots beyond the 100 recorded (CONTRACT §4) counted by this plan, for the metric.
    public var unrecordedSkips = 0
    /// The job's running count of unrecorded skips while a long backlog is counted over several ticks
    /// (``TickPlanner/Subject/unrecordedSkips``); 0 once the catch-up has been decided.
    public var carriedSkips = 0

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
    /// Catch-up `all` with overlap `forbid` queues slots instead of skipping them; a job that runs slower than its
    /// schedule would queue without end, so it may have at most this many unfinished tickets. Slots that would pass
    /// it are skipped (`catchup_limit`), the newest kept as in a catch-up.
    public static let queueLimit = 100

    /// What the planner reads of a job: its position and its policy (not the whole spec, which the leader does not
    /// keep in memory for every job).
    public struct Subject: Sendable, Equatable {
        public var id: JobID
        public var state: JobState
        public var watermark: Timestamp
        public var nextFireAt: Timestamp?
        public var policy: JobPolicy
        /// Missed slots already passed over, unrecorded, by earlier ticks of a catch-up that is still being counted.
        public var unrecordedSkips: Int

        public init(
            id: JobID, state: JobState, watermark: Timestamp, nextFireAt: Timestamp?, policy: JobPolicy, unrecordedSkips: Int = 0
        ) {
            self.id = id
            self.state = state
            self.watermark = watermark
            self.nextFireAt = nextFireAt
            self.policy = policy
            self.unrecordedSkips = unrecordedSkips
        }

        public init(_ job: Job) {
            self.init(id: job.id, state: job.state, watermark: job.watermark, nextFireAt: job.nextFireAt, policy: job.spec.policy)
        }
    }

    public static func plan(
        job: Job, schedule: Schedule, hasUnfinished: Bool, now: Timestamp, lookahead: TimeSpan
    ) -> TickPlan {
        plan(Subject(job), schedule: schedule, unfinished: hasUnfinished ? 1 : 0, now: now, lookahead: lookahead)
    }

    public static func plan(
        _ job: Subject, schedule: Schedule, hasUnfinished: Bool, now: Timestamp, lookahead: TimeSpan
    ) -> TickPlan {
        plan(job, schedule: schedule, unfinished: hasUnfinished ? 1 : 0, now: now, lookahead: lookahead)
    }

    /// - Parameter unfinished: the job's unfinished tickets; only catch-up `all` with overlap `forbid` needs the
    ///   count (up to ``queueLimit``), every other policy only whether it is zero.
    public static func plan(
        _ job: Subject, schedule: Schedule, unfinished: Int, now: Timestamp, lookahead: TimeSpan
    ) -> TickPlan {
        let policy = job.policy
        guard job.state == .active else {
            return TickPlan(watermark: job.watermark, nextFireAt: job.nextFireAt, dueAt: nil, state: job.state)
        }
        let horizon = now + lookahead

        // 1. The missed range (watermark, now − misfireGrace) is decided as a whole, however long the downtime: only
        //    its newest slots can run or be recorded (at most 100 run, at most 100 skip records), so those are found
        //    from the newest end, and the older ones are only counted.
        var slots: [Timestamp] = []
        var olderSkips = 0
        var cursor = job.watermark
        let missedThrough = now - policy.misfireGrace - .milliseconds(1)
        if missedThrough > job.watermark {
            let newest = newestSlots(schedule, after: job.watermark, through: missedThrough, count: catchupLimit + skipRecordLimit)
            if let first = newest.first {
                var counted = job.watermark
                while let next = schedule.nextSlot(after: counted), next < first {
                    olderSkips += 1
                    counted = next
                    if olderSkips == enumerationLimit {
                        // A backlog too long to count in one tick: count on at the next one. Nothing up to here can
                        // run or be recorded, so the watermark may pass it; the count is carried to the final detail.
                        var plan = TickPlan(watermark: counted, nextFireAt: schedule.nextSlot(after: counted), dueAt: now, state: .active)
                        plan.unrecordedSkips = olderSkips
                        plan.carriedSkips = job.unrecordedSkips + olderSkips
                        return plan
                    }
                }
                slots = newest
                cursor = newest[newest.count - 1]
            }
        }

        // 2. The slots after those, through the horizon (on time or ahead; none of them missed).
        var truncated = false
        while let next = schedule.nextSlot(after: cursor), next <= horizon {
            slots.append(next)
            cursor = next
            if slots.count == enumerationLimit {
                truncated = true
                break
            }
        }

        // 3. Classify due slots and apply catch-up.
        let due = slots.filter { $0 <= now }
        let ahead = slots.filter { $0 > now }
        let missed = due.filter { now - $0 > policy.misfireGrace }
        let onTime = due.filter { now - $0 <= policy.misfireGrace }
        var run: [Timestamp] = []
        var skipped: [(Timestamp, SkipCause)] = []
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

        // 4. Overlap, in slot order.
        var written: [Timestamp] = []
        var deferred: Timestamp?
        var busy = unfinished > 0
        var cancel = false
        switch policy.overlap {
        case .allow:
            written = run + ahead
        case .forbid where policy.catchup == .all:
            // Queued to run one at a time, up to the queue limit; the newest are kept.
            let kept = run.suffix(max(0, queueLimit - unfinished))
            skipped += run.dropLast(kept.count).map { ($0, .queueFull) }
            written = Array(kept)
            busy = busy || !kept.isEmpty
        case .forbid:
            for slot in run {
                if busy {
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

        // 5. Turn decisions into tickets.
        var plan = TickPlan(watermark: job.watermark, nextFireAt: nil, dueAt: nil, state: .active)
        plan.cancelUnfinished = cancel
        let recorded = skipped.suffix(skipRecordLimit)
        plan.unrecordedSkips = skipped.count - recorded.count + olderSkips
        let unrecordedInCatchup = plan.unrecordedSkips + job.unrecordedSkips
        for (index, (slot, cause)) in recorded.enumerated() {
            var detail = skipDetail(cause, slot: slot, now: now, policy: policy)
            if index == recorded.count - 1, unrecordedInCatchup > 0 {
                detail += "; \(unrecordedInCatchup) earlier skipped slots were not recorded"
            }
            plan.tickets.append(
                PlannedTicket(
                    id: TicketID.scheduled(job: job.id, slot: slot), slot: slot, state: .skipped, reason: cause.reason,
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

        // 6. Where the job stands now.
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

    /// Why a slot is skipped, finer than its reason code: the detail says which rule applied.
    enum SkipCause {
        case misfire
        case overlap
        case catchupLimit
        /// Catch-up `all` + overlap `forbid` with ``queueLimit`` unfinished tickets.
        case queueFull

        var reason: TicketReason {
            switch self {
            case .misfire: .misfire
            case .overlap: .overlap
            case .catchupLimit, .queueFull: .catchupLimit
            }
        }
    }

    static func skipDetail(_ cause: SkipCause, slot: Timestamp, now: Timestamp, policy: JobPolicy) -> String {
        switch cause {
        case .overlap:
            return "an earlier ticket of the job was unfinished (overlap: \(policy.overlap.rawValue))"
        case .catchupLimit:
            return "missed by \(now - slot); catch-up all runs only the newest \(catchupLimit) missed slots"
        case .queueFull:
            return "the job already had \(queueLimit) unfinished tickets; catch-up all with overlap forbid queues at most \(queueLimit)"
        case .misfire:
            return "missed by \(now - slot), more than misfireGrace \(policy.misfireGrace) (catchup: \(policy.catchup.rawValue))"
        }
    }

    /// The newest `count` slots in `(lower, upper]`, oldest first, found by looking back from `upper` in windows that
    /// double until they hold `count` slots or reach `lower`: the cost follows `count`, not the length of the range.
    static func newestSlots(_ schedule: Schedule, after lower: Timestamp, through upper: Timestamp, count: Int) -> [Timestamp] {
        let range = upper.milliseconds - lower.milliseconds
        guard range > 0, count > 0 else { return [] }
        // Slots are at least a second apart, so `count` seconds is the smallest window that can hold them all.
        var window = min(range, Int64(count) * 1000)
        while true {
            let start = Timestamp(milliseconds: upper.milliseconds - window)
            var newest: [Timestamp] = []
            var cursor = start
            while let next = schedule.nextSlot(after: cursor), next <= upper {
                newest.append(next)
                cursor = next
                if newest.count == 2 * count { newest.removeFirst(count) }
            }
            if newest.count >= count || window == range { return Array(newest.suffix(count)) }
            window = range / 2 < window ? range : window * 2
        }
    }
}
