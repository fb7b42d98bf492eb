import BatonCore
import BatonStore
import Logging
import ServiceLifecycle

/// Drives `LeaderElection` against the lease row (CONTRACT §7): acquire when expired, renew every
/// TTL/5 (not more often: each renewal is a write under the one SQLite lock), step down when renewals fail for TTL − 2 s, release on graceful shutdown. It also keeps
/// this scheduler's row in `scheduler_node` fresh, which is how the API lists standbys.
public final class LeaderElector: Service {
    let configuration: SchedulerConfiguration
    let leases: any LeaderLeaseStore
    let nodes: any NodeStore
    let clock: any WallClock
    let logger: Logger
    let leadership: Leadership
    let metrics: SchedulerMetrics
    let endpoint: @Sendable () -> String

    init(
        configuration: SchedulerConfiguration, leases: any LeaderLeaseStore, nodes: any NodeStore, clock: any WallClock,
        logger: Logger, leadership: Leadership, metrics: SchedulerMetrics, endpoint: @escaping @Sendable () -> String
    ) {
        self.configuration = configuration
        self.leases = leases
        self.nodes = nodes
        self.clock = clock
        self.logger = logger
        self.leadership = leadership
        self.metrics = metrics
        self.endpoint = endpoint
    }

    public func run() async throws {
        let monotonic = ContinuousClock()
        var election = LeaderElection<ContinuousClock.Instant>(holderID: configuration.id, ttl: configuration.leaseTTL.duration)
        let startedAt = clock.now()
        var nextNodeHeartbeat = monotonic.now
        var nextAttempt = monotonic.now
        metrics.isLeader.record(0)

        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let me = SchedulerIdentity(id: configuration.id, host: configuration.host, pid: configuration.pid, endpoint: endpoint())
            if monotonic.now >= nextAttempt {
                let attemptStart = monotonic.now
                var leaseExpiresIn: Duration?
                do {
                    let lease = try await leases.acquireOrRenew(me, epoch: election.epoch, now: clock.now(), ttl: configuration.leaseTTL)
                    apply(election.attemptCompleted(holder: lease.holder, epoch: lease.epoch, startedAt: attemptStart))
                    leaseExpiresIn = .milliseconds(max(0, (lease.leaseExpiresAt - clock.now()).milliseconds))
                } catch {
                    metrics.leaseRenewFailures.increment()
                    logger.warning("leader lease attempt failed", metadata: ["error": "\(error)"])
                    apply(election.attemptFailed(now: monotonic.now))
                }
                // CONTRACT §7: renew every TTL/5, counted from the attempt's start.
                nextAttempt = attemptStart.advanced(by: election.delayBeforeNextAttempt(leaseExpiresIn: leaseExpiresIn))
            }
            if monotonic.now >= nextNodeHeartbeat {
                nextNodeHeartbeat = monotonic.now.advanced(by: .seconds(1))
                do {
                    try await nodes.heartbeat(
                        scheduler: me, startedAt: startedAt, now: clock.now(),
                        tickLagMs: election.isLeader ? leadership.lastTickLagMs : nil)
                } catch {
                    logger.debug("scheduler heartbeat failed", metadata: ["error": "\(error)"])
                }
            }
            // The node heartbeat keeps its one-second cadence between lease attempts; the elector also wakes when
            // trust runs out, to step down at that moment even if the database hangs.
            let wake = min(election.nextWake(nextAttemptAt: nextAttempt), nextNodeHeartbeat)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(until: wake, clock: monotonic) }
            apply(election.check(now: monotonic.now))
        }

        if case .release(let epoch) = election.shutdown() {
            leadership.set(nil)
            metrics.isLeader.record(0)
            do {
                try await leases.release(LeaderFence(holder: configuration.id, epoch: epoch), now: clock.now())
                logger.info("released the leader lease", metadata: ["epoch": "\(epoch)"])
            } catch {
                logger.warning("could not release the leader lease; it expires on its own", metadata: ["error": "\(error)"])
            }
        }
        try? await nodes.remove(scheduler: configuration.id)
    }

    func apply(_ action: LeaderElection<ContinuousClock.Instant>.Action) {
        switch action {
        case .none:
            return
        case .becameLeader(let epoch):
            leadership.set(LeaderFence(holder: configuration.id, epoch: epoch))
            metrics.isLeader.record(1)
            metrics.epoch.record(epoch)
            logger.notice("became leader", metadata: ["epoch": "\(epoch)"])
        case .steppedDown(let reason):
            leadership.set(nil)
            metrics.isLeader.record(0)
            logger.warning("stepped down", metadata: ["reason": "\(reason.rawValue)"])
        case .release:
            leadership.set(nil)
        }
    }
}
