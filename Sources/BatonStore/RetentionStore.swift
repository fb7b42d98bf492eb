import BatonCore

/// What history retention keeps (CONTRACT §6, `BATON_RETENTION`, `BATON_HISTORY_PER_JOB`) and how much it may
/// change per write transaction.
public struct RetentionRules: Sendable, Equatable {
    /// Finished tickets, idempotency keys and unreferenced old job revisions older than this go.
    public var retention: TimeSpan
    /// Tickets kept per job, newest slots first; older finished ones go.
    public var perJob: Int
    /// Rows one write transaction may delete. Deleting a ticket touches its row, its attempts and nine index
    /// entries: measured at 100,000 jobs (release build, Docs/Benchmarks.md `purge`), 200 rows held the write lock
    /// 14 ms at the median and 50 rows 2.7 ms, so 50 keeps a typical step well under the ~10 ms budget.
    public var batch: Int
    /// Jobs examined per step of the per-job cap (their counts are read without the write lock).
    public var jobsPerStep: Int

    public init(retention: TimeSpan, perJob: Int, batch: Int = 50, jobsPerStep: Int = 200) {
        self.retention = retention
        self.perJob = perJob
        self.batch = batch
        self.jobsPerStep = jobsPerStep
    }
}

/// Where a retention pass stands. A pass runs its phases in this order, each in bounded steps, so no step holds the
/// write lock longer than deleting ``RetentionRules/batch`` rows (the old single pass grouped every ticket by job
/// inside the leader's write transaction: seconds at 100,000 jobs).
public enum RetentionPhase: Sendable, Equatable {
    /// Finished tickets older than the retention.
    case expiredTickets
    /// The per-job cap, job by job in row order after `job` (a job row's `seq`).
    case crowdedJobs(after: Int64)
    /// Manual-trigger idempotency keys older than the retention.
    case idempotencyKeys
    /// Old job revisions no ticket references (they may hold rotated secrets), in key order after `job`/`revision`.
    case revisions(afterJob: String, revision: Int64)

    public static let start = RetentionPhase.expiredTickets
}

/// What one retention step did, and where the pass goes next (nil: the pass is complete).
public struct RetentionStepReport: Sendable, Equatable {
    public var purgedTickets = 0
    public var purgedKeys = 0
    public var prunedRevisions = 0
    /// How long this step's write transaction took, lock wait and commit included (zero: it wrote nothing).
    /// Without competing writers that is how long it held the write lock.
    public var writeDuration: Duration = .zero
    public var next: RetentionPhase?

    public init(next: RetentionPhase?) { self.next = next }
}

/// History retention, run by the leader as a sequence of short fenced transactions.
public protocol RetentionStore: Sendable {
    /// One bounded step of a retention pass at `phase`.
    func retentionStep(_ fence: LeaderFence, phase: RetentionPhase, rules: RetentionRules, now: Timestamp)
        async throws(StoreError) -> RetentionStepReport
}


/// Where a retention pass goes after each kind of step, for every backend: the phase order and when a phase is
/// done are the pass's rules, not a backend's.
extension RetentionStepReport {
    /// After deleting `deleted` expired tickets: this phase again while a whole batch went.
    package static func expiredTickets(deleted: Int, rules: RetentionRules, took: Duration) -> RetentionStepReport {
        var report = RetentionStepReport(next: deleted < rules.batch ? .crowdedJobs(after: 0) : .expiredTickets)
        report.purgedTickets = deleted
        report.writeDuration = took
        return report
    }

    /// After looking at the jobs with row keys `examined`: on from the last of them, or to the keys once all were seen.
    package static func crowdedJobsExamined(_ examined: [Int64], rules: RetentionRules) -> RetentionStepReport {
        var report = RetentionStepReport(next: examined.count < rules.jobsPerStep ? .idempotencyKeys : nil)
        if report.next == nil, let last = examined.last { report.next = .crowdedJobs(after: last) }
        return report
    }

    /// After trimming crowded jobs: out of budget at job `outOfBudgetAt`, that job may have more beyond its cap, so
    /// the next step starts at it again.
    package mutating func trimmed(_ deleted: Int, outOfBudgetAt: Int64?, took: Duration) {
        purgedTickets = deleted
        writeDuration = took
        if let outOfBudgetAt { next = .crowdedJobs(after: outOfBudgetAt - 1) }
    }

    /// After deleting `deleted` expired idempotency keys: this phase again while a whole batch went.
    package static func idempotencyKeys(deleted: Int, rules: RetentionRules, took: Duration) -> RetentionStepReport {
        var report = RetentionStepReport(next: deleted < rules.batch ? .revisions(afterJob: "", revision: 0) : .idempotencyKeys)
        report.purgedKeys = deleted
        report.writeDuration = took
        return report
    }
}
