import BatonCore
import BatonStore
import Logging
import ServiceLifecycle

/// The leader's sweepers, each a small fenced transaction on its own cadence:
/// expired claim leases → `retrying`/`failed` (reason `lease_expired`); unclaimed tickets past
/// their start deadline → `skipped` (misfire); forgetting silent nodes. History retention is its own service
/// (``HistoryRetention``), so its long passes never delay these sweeps.
public final class Maintenance: Service {
    let configuration: SchedulerConfiguration
    let store: any SchedulerStore
    let nodes: any NodeStore
    let clock: any WallClock
    let logger: Logger
    let leadership: Leadership
    let metrics: SchedulerMetrics

    init(
        configuration: SchedulerConfiguration, store: any SchedulerStore, nodes: any NodeStore, clock: any WallClock,
        logger: Logger, leadership: Leadership, metrics: SchedulerMetrics
    ) {
        self.configuration = configuration
        self.store = store
        self.nodes = nodes
        self.clock = clock
        self.logger = logger
        self.leadership = leadership
        self.metrics = metrics
    }

    public func run() async throws {
        var nextForget = clock.now()
        var nextParkedCount = clock.now()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if let fence = leadership.current {
                let now = clock.now()
                do {
                    let expired = try await store.expireLeases(fence, now: now, limit: 1000)
                    if !expired.isEmpty {
                        metrics.leasesExpired.increment(by: expired.count)
                        for id in expired.prefix(20) {
                            logger.warning("claim lease expired; ticket returns for another attempt", metadata: ["ticket": "\(id)"])
                        }
                    }
                    let misfired = try await store.enforceDeadlines(fence, now: now)
                    if misfired > 0 {
                        metrics.misfired.increment(by: misfired)
                        logger.info("tickets missed their start deadline", metadata: ["count": "\(misfired)"])
                    }
                    if now >= nextForget {
                        nextForget = now + .minutes(1)
                        _ = try await nodes.forget(notSeenSince: now - .hours(1))
                    }
                    if now >= nextParkedCount {
                        // Parked jobs leave when a gateway writes a new revision: the gauge follows within a minute.
                        nextParkedCount = now + .minutes(1)
                        metrics.jobsParked.record(try await store.parkedJobCount())
                    }
                } catch {
                    if error.code != .notLeader && error.code != .cancelled { logger.warning("maintenance pass failed", metadata: ["error": "\(error)"]) }
                }
            }
            try? await cancelWhenGracefulShutdown { [interval = configuration.sweepInterval.duration] in
                try await Task.sleep(for: interval)
            }
        }
    }
}
