import BatonCore
import BatonStore
import Logging
import ServiceLifecycle

/// The leader's retention cleaner (CONTRACT §6): once a minute a pass deletes finished tickets older than
/// `BATON_RETENTION` or beyond the newest `BATON_HISTORY_PER_JOB` of their job, idempotency keys older than the
/// retention, and old job revisions no ticket references (so rotated secrets do not live on in them).
///
/// A pass is a sequence of steps, each at most one short fenced write transaction (``RetentionRules/batch`` rows);
/// the reads that find the work run without the write lock. Between steps the lock is free for the tick, claims
/// and completions, and leadership is re-checked, so a pass stops at once when this scheduler steps down.
public final class HistoryRetention: Service {
    let configuration: SchedulerConfiguration
    let store: any RetentionStore
    let clock: any WallClock
    let logger: Logger
    let leadership: Leadership
    let metrics: SchedulerMetrics

    init(
        configuration: SchedulerConfiguration, store: any RetentionStore, clock: any WallClock, logger: Logger,
        leadership: Leadership, metrics: SchedulerMetrics
    ) {
        self.configuration = configuration
        self.store = store
        self.clock = clock
        self.logger = logger
        self.leadership = leadership
        self.metrics = metrics
    }

    public func run() async throws {
        let rules = RetentionRules(retention: configuration.retention, perJob: configuration.historyPerJob)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if leadership.current != nil {
                await pass(rules)
            }
            try? await cancelWhenGracefulShutdown { [interval = configuration.retentionInterval.duration] in
                try await Task.sleep(for: interval)
            }
        }
    }

    /// One pass, step by step, while this scheduler leads.
    func pass(_ rules: RetentionRules) async {
        var phase: RetentionPhase? = .start
        var revisions = 0
        while let current = phase, let fence = leadership.current, !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let report = try await store.retentionStep(fence, phase: current, rules: rules, now: clock.now())
                metrics.purged.increment(by: report.purgedTickets)
                metrics.revisionsPruned.increment(by: report.prunedRevisions)
                revisions += report.prunedRevisions
                phase = report.next
            } catch {
                if error.code != .notLeader && error.code != .cancelled { logger.warning("history retention step failed", metadata: ["error": "\(error)"]) }
                return
            }
        }
        if revisions > 0 { logger.info("pruned old job revisions no ticket references", metadata: ["count": "\(revisions)"]) }
    }
}
