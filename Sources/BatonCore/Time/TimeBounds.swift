/// The one rule that keeps Baton's time arithmetic from overflowing, and every bound that follows from it.
///
/// **Principle.** Every instant Baton accepts or computes lies in years 0001–9999 (``Timestamp/earliest`` …
/// ``Timestamp/latest``, about ±2.5·10¹⁴ ms), which is also exactly what RFC 3339 can write. Every duration a
/// user or operator can set has an upper bound far above any real use and far below Int64's range (the largest
/// is 100 years, about 3.2·10¹² ms). So the sum of a valid instant and a valid duration is at most ~6·10¹⁴ ms:
/// nothing can overflow Int64 (±9.2·10¹⁸), and arithmetic that could leave the calendar range is checked (returns
/// nil) or clamps explicitly where "past the end of time" simply means "never".
///
/// Values stored by an older build that had no bounds are not trusted either: the `Timestamp` and `TimeSpan`
/// operators saturate instead of trapping, and the schedule and backoff computations guard their inputs, so
/// such a row can misbehave at worst, never crash a process.
///
/// The bounds are documented in Docs/API.md (job specs, query parameters) and Docs/Configuration.md (settings).
public enum TimeBounds {
    // MARK: Job spec fields (CONTRACT §4). Violations are 422 naming the field.

    /// `schedule.every`: at least 1 s, at most a (leap) year. A longer cycle is a calendar rule: write it as cron
    /// or as one `at`.
    public static let every = TimeSpan.seconds(1)...TimeSpan.days(366)
    /// `policy.misfireGrace`: how late a slot may still start. More than the longest interval means nothing.
    public static let misfireGrace = TimeSpan.zero...TimeSpan.days(366)
    /// `policy.jitter`: also below misfireGrace and below the slot spacing (checked separately).
    public static let jitter = TimeSpan.zero...TimeSpan.days(366)
    /// `policy.timeout`, `action.http.timeout`, `action.command.timeout`: above 0, at most a week. An action
    /// that should run longer belongs in a system that checkpoints it; claims are renewed meanwhile.
    public static let timeout = TimeSpan.milliseconds(1)...TimeSpan.days(7)
    /// `policy.retry.initialDelay` and `policy.retry.maxDelay`: at most 30 days between attempts.
    public static let retryDelay = TimeSpan.zero...TimeSpan.days(30)
    /// `policy.retry.maxAttempts`.
    public static let maxAttempts = 1...100
    /// `policy.retry.multiplier`.
    public static let multiplier = 1.0...100.0

    // MARK: Settings (CONTRACT §3). Violations exit 2 naming the env var and the flag.

    /// `BATON_LEASE_TTL`: failover takes up to a TTL, so a day is already far beyond use.
    public static let leaseTTL = TimeSpan.seconds(3)...TimeSpan.days(1)
    /// `BATON_CLAIM_TTL`: a crashed executor's tickets wait up to a TTL.
    public static let claimTTL = TimeSpan.seconds(3)...TimeSpan.days(1)
    /// `BATON_REDELIVER_AFTER`: an unclaimed offer is re-sent after this (the leader remembers offers for 30×).
    public static let redeliverAfter = TimeSpan.milliseconds(100)...TimeSpan.hours(1)
    /// `BATON_RETENTION`: 100 years is "keep everything"; `now − retention` stays far inside year 0001.
    public static let retention = TimeSpan.minutes(1)...TimeSpan.days(36_500)
    /// `BATON_SHUTDOWN_GRACE`: waiting longer than the longest action timeout gains nothing.
    public static let shutdownGrace = TimeSpan.zero...TimeSpan.days(7)
    /// `BATON_DB_STATEMENT_TIMEOUT`: PostgreSQL's `statement_timeout` for every statement but migrations. Below
    /// 100 ms a busy server would cancel ordinary statements; a statement that needs an hour is a bug to find.
    public static let dbStatementTimeout = TimeSpan.milliseconds(100)...TimeSpan.hours(1)
    /// `BATON_DB_CONNECT_TIMEOUT`: how long a role waits at start for PostgreSQL; 0 tries once. Beyond an hour a
    /// supervisor's restart is the better wait.
    public static let dbConnectTimeout = TimeSpan.zero...TimeSpan.hours(1)
    /// Internal intervals that are not flags (lookahead, poll, sweep, announce, registration, kill grace, linger,
    /// node liveness): validated against this so a programmatic configuration cannot break the arithmetic either.
    public static let internalInterval = TimeSpan.zero...TimeSpan.days(1)
}

extension ClosedRange where Bound == TimeSpan {
    /// `from 1s to 366d`: the wording every bound error uses.
    public var boundDescription: String { "from \(lowerBound) to \(upperBound)" }
}

extension Int64 {
    /// `self + other`, pinned to Int64's range instead of trapping.
    @inlinable
    public func addingSaturated(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// `self − other`, pinned to Int64's range instead of trapping.
    @inlinable
    public func subtractingSaturated(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other < 0 ? .max : .min
    }

    /// `self × other`, pinned to Int64's range instead of trapping.
    @inlinable
    public func multipliedSaturated(by other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < 0) == (other < 0) ? .max : .min
    }
}
