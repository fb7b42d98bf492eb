import Metrics
import ServiceLifecycle

/// Publishes an executor's counters to swift-metrics once a second (served on `BATON_METRICS_BIND`).
///
/// The executor keeps its counters in its own state (tests read them directly); this service turns
/// them into Prometheus counters and gauges without touching the claim path.
public struct ExecutorMetricsPublisher: Service {
    let executor: ExecutorService
    let interval: Duration

    public init(executor: ExecutorService, interval: Duration = .seconds(1)) {
        self.executor = executor
        self.interval = interval
    }

    public func run() async throws {
        let completed = Counter(label: "baton_tickets_completed_total")
        let claimsLost = Counter(label: "baton_claim_races_lost_total")
        let fenced = Counter(label: "baton_attempts_fenced_total")
        let unrenewable = Counter(label: "baton_claim_leases_unrenewable_total")
        let completionsFenced = Counter(label: "baton_completions_fenced_total")
        let wireRejected = Counter(label: "baton_wire_rejected_total")
        let running = Gauge(label: "baton_executor_running")
        let credit = Gauge(label: "baton_executor_credit")
        var last = executor.statistics
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
            let now = executor.statistics
            completed.increment(by: max(0, now.completed - last.completed))
            claimsLost.increment(by: max(0, now.claims.claimsLost - last.claims.claimsLost))
            fenced.increment(by: max(0, now.claims.fenced - last.claims.fenced))
            unrenewable.increment(by: max(0, now.claims.leasesUnrenewable - last.claims.leasesUnrenewable))
            completionsFenced.increment(by: max(0, now.completionsFenced - last.completionsFenced))
            wireRejected.increment(by: max(0, now.wireRejected - last.wireRejected))
            running.record(now.running)
            credit.record(now.credit)
            last = now
        }
    }
}
