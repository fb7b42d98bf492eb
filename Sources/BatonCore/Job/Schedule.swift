/// A job's schedule resolved against its creation time: the pure function from
/// "the last slot considered" to "the next slot".
public struct Schedule: Sendable {
    public enum Rule: Sendable {
        case cron(CronSchedule)
        /// Slots at `anchor + k·interval`.
        case every(interval: TimeSpan, anchor: Timestamp)
        case once(Timestamp)
    }

    public let rule: Rule
    public let startAt: Timestamp?
    public let endAt: Timestamp?

    public init(rule: Rule, startAt: Timestamp? = nil, endAt: Timestamp? = nil) {
        self.rule = rule
        self.startAt = startAt
        self.endAt = endAt
    }

    /// Resolves a validated spec; `createdAt` anchors `every` schedules without an explicit anchor.
    public init(_ spec: ScheduleSpec, createdAt: Timestamp) throws(CronError) {
        switch spec.kind {
        case .cron(let text):
            let expression = try CronExpression(parsing: text)
            rule = .cron(try CronSchedule(expression: expression, timeZone: spec.timezone, gap: spec.gap, fold: spec.fold))
        case .every(let interval):
            rule = .every(interval: interval, anchor: spec.anchor ?? createdAt)
        case .at(let instant):
            rule = .once(instant)
        }
        startAt = spec.startAt
        endAt = spec.endAt
    }

    /// The first slot strictly after `instant` within `[startAt, endAt]`, or nil when there is none.
    ///
    /// No slot lies after ``Timestamp/latest`` (year 9999): past it the schedule simply ends. The inputs may be
    /// stored values from an older build without bounds, so nothing here may trap on them.
    public func nextSlot(after instant: Timestamp) -> Timestamp? {
        guard instant < Timestamp.latest else { return nil }
        var after = Swift.max(instant.milliseconds, Timestamp.earliest.milliseconds.subtractingSaturated(1))
        if let startAt {
            after = Swift.max(after, startAt.milliseconds.subtractingSaturated(1))
        }
        let candidate: Timestamp?
        switch rule {
        case .cron(let cron):
            candidate = cron.nextFire(after: Timestamp(milliseconds: after))
        case .every(let interval, let anchor):
            candidate = Schedule.nextInterval(after: after, step: interval.milliseconds, anchor: anchor.milliseconds)
        case .once(let at):
            candidate = at.milliseconds > after ? at : nil
        }
        guard let slot = candidate, slot <= Timestamp.latest else { return nil }
        if let endAt, slot > endAt { return nil }
        return slot
    }

    /// `anchor + k·step` for the smallest k that lands strictly after `after`; nil when that is not an Int64
    /// (only possible for an anchor or interval outside the bounds, stored by an older build).
    static func nextInterval(after: Int64, step: Int64, anchor: Int64) -> Timestamp? {
        guard step > 0 else { return nil }
        let (elapsed, o1) = after.subtractingReportingOverflow(anchor)
        let (k, o2) = elapsed.floorDivided(by: step).addingReportingOverflow(1)
        let (offset, o3) = k.multipliedReportingOverflow(by: step)
        let (slot, o4) = anchor.addingReportingOverflow(offset)
        guard !o1, !o2, !o3, !o4 else { return nil }
        return Timestamp(milliseconds: slot)
    }

    /// Up to `count` slots strictly after `instant`.
    public func slots(after instant: Timestamp, count: Int) -> [Timestamp] {
        var result: [Timestamp] = []
        var cursor = instant
        while result.count < count, let next = nextSlot(after: cursor) {
            result.append(next)
            cursor = next
        }
        return result
    }
}

extension ScheduleSpec {
    /// The shortest time between two slots, for the jitter bound; nil for one-off or invalid schedules.
    public var minimumSpacing: TimeSpan? {
        switch kind {
        case .every(let interval):
            return interval
        case .at:
            return nil
        case .cron:
            // Sampled over a year's start and a DST season: enough to see the tightest step of any field.
            guard let schedule = try? Schedule(self, createdAt: Timestamp(milliseconds: 0)) else { return nil }
            var smallest: TimeSpan?
            for origin in [Timestamp(seconds: 1_767_225_600), Timestamp(seconds: 1_772_323_200)] {
                let slots = schedule.slots(after: origin, count: 64)
                for (a, b) in zip(slots, slots.dropFirst()) {
                    let gap = b - a
                    if smallest.map({ gap < $0 }) ?? true { smallest = gap }
                }
            }
            return smallest
        }
    }
}
