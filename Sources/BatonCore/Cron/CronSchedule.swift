/// A cron expression placed in a time zone, with the DST policies that decide what
/// happens to local times a transition skips or repeats (CONTRACT §5).
public struct CronSchedule: Sendable, Hashable {
    public let expression: CronExpression
    /// The IANA name as given, e.g. `Europe/Berlin`.
    public let timeZoneIdentifier: String
    public let gap: DSTGapPolicy
    public let fold: DSTFoldPolicy

    private let zone: ZoneOffsets
    /// `fold` resolved once: whether the earlier and the later reading of a repeated local time fire.
    private let firesFirstOccurrence: Bool
    private let firesSecondOccurrence: Bool

    /// Fails with `unknownTimeZone` (field `timezone`) when Foundation does not know the zone.
    public init(
        expression: CronExpression, timeZone identifier: String = "UTC", gap: DSTGapPolicy = .shift,
        fold: DSTFoldPolicy = .auto
    ) throws(CronError) {
        guard let zone = ZoneOffsets.named(identifier) else {
            throw CronError(
                code: .unknownTimeZone, field: "timezone",
                message: "timezone: unknown time zone \"\(identifier)\" (expected an IANA name such as Europe/Berlin)")
        }
        self.expression = expression
        self.timeZoneIdentifier = identifier
        self.gap = gap
        self.fold = fold
        self.zone = zone
        switch fold {
        case .first: (firesFirstOccurrence, firesSecondOccurrence) = (true, false)
        case .last: (firesFirstOccurrence, firesSecondOccurrence) = (false, true)
        case .both: (firesFirstOccurrence, firesSecondOccurrence) = (true, true)
        case .auto: (firesFirstOccurrence, firesSecondOccurrence) = (true, expression.hourFieldStartsWithStar)
        }
    }

    public static func == (lhs: CronSchedule, rhs: CronSchedule) -> Bool {
        lhs.expression == rhs.expression && lhs.timeZoneIdentifier == rhs.timeZoneIdentifier && lhs.gap == rhs.gap
            && lhs.fold == rhs.fold
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(expression)
        hasher.combine(timeZoneIdentifier)
        hasher.combine(gap)
        hasher.combine(fold)
    }

    /// The first fire strictly after `instant`, in whole seconds; nil only if none exists
    /// within the search horizon (which cannot happen for a parsed expression at realistic dates).
    ///
    /// Fires are strictly increasing across calls, so a caller can feed each result back in.
    ///
    /// Fires end at ``Timestamp/latest`` (year 9999), the last instant RFC 3339 can write.
    public func nextFire(after instant: Timestamp) -> Timestamp? {
        guard instant < Timestamp.latest else { return nil }
        let from = Swift.max(instant, Timestamp(milliseconds: Timestamp.earliest.milliseconds - 1))
        guard let second = nextFireSecond(atOrAfter: from.seconds + 1) else { return nil }
        let (milliseconds, overflow) = second.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return nil }
        let fire = Timestamp(milliseconds: milliseconds)
        return fire <= Timestamp.latest ? fire : nil
    }

    /// Up to `count` consecutive fires strictly after `instant`.
    public func fires(after instant: Timestamp, count: Int) -> [Timestamp] {
        var result: [Timestamp] = []
        result.reserveCapacity(max(0, min(count, 10_000)))
        var cursor = instant
        while result.count < count, let next = nextFire(after: cursor) {
            result.append(next)
            cursor = next
        }
        return result
    }

    /// Walks the zone's offset segments in instant order; within one segment, local time
    /// and instants move together, so the earliest local match is the earliest fire.
    ///
    /// A segment's candidates are its own local times (read with its offset, less the
    /// half of a fold the policy drops) and, under `gap: shift`, the local times that the
    /// transition into it skipped, read with the offset before it. Both land at or after
    /// the segment's start, so the first segment with a candidate holds the answer.
    private func nextFireSecond(atOrAfter from: Int64) -> Int64? {
        var search = LocalSearch(expression: expression)
        var segment = zone.segment(containing: from)
        var best: Int64?
        let horizon = from + Int64(CronExpression.horizonYears + 1) * 366 * 86_400
        while segment.start <= horizon {
            if let best, best <= segment.start { return best }

            if gap == .shift, segment.previousOffset < segment.offset {
                let gapEnd = segment.start + segment.offset
                let start = max(segment.start + segment.previousOffset, from + segment.previousOffset)
                if start < gapEnd {
                    guard let local = search.first(atOrAfter: start) else { return best }
                    if local < gapEnd { best = min(best ?? .max, local - segment.previousOffset) }
                }
            }

            var windowStart = segment.start + segment.offset
            if segment.previousOffset > segment.offset, !firesSecondOccurrence {
                windowStart = segment.start + segment.previousOffset
            }
            var windowEnd = segment.end + segment.offset
            if segment.nextOffset < segment.offset, !firesFirstOccurrence {
                windowEnd = segment.end + segment.nextOffset
            }
            let start = max(windowStart, from + segment.offset)
            if start < windowEnd {
                guard let local = search.first(atOrAfter: start) else { return best }
                if local < windowEnd { best = min(best ?? .max, local - segment.offset) }
            }

            if let best, best < segment.end { return best }
            guard segment.end < ZoneOffsets.never else { return best }
            let next = zone.segment(containing: segment.end)
            guard next.start > segment.start else { return best }
            segment = next
        }
        return best
    }
}

/// Remembers the last local search, because consecutive segments usually ask for the
/// same answer: a match found far beyond one segment is also the first match of the next.
private struct LocalSearch {
    let expression: CronExpression
    private var searchedFrom: Int64 = .max
    private var found: Int64 = .min

    init(expression: CronExpression) { self.expression = expression }

    /// No match lies in `searchedFrom..<found`, so any start inside that range has the same answer.
    mutating func first(atOrAfter local: Int64) -> Int64? {
        if searchedFrom <= local, local <= found { return found }
        guard let match = expression.nextLocalMatch(atOrAfter: local) else { return nil }
        (searchedFrom, found) = (local, match)
        return match
    }
}
