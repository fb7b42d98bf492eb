import BatonCore
import BatonStore
import Metrics
import ServiceLifecycle

/// Metrics recorded where they happen (claims and completions). Created on first use, which is after
/// `baton executor` has bootstrapped the metrics system; without `BATON_METRICS_BIND` they are no-ops.
enum ExecutorMetrics {
    static let claimed = Counter(label: "baton_tickets_claimed_total")
    /// From the moment a ticket became claimable (`not_before`) to the won claim (CONTRACT §10 latency).
    static let dueToClaimed = Timer(label: "baton_due_to_claimed_seconds")

    static func recordClaims(_ won: [ClaimedTicket], now: Timestamp) {
        claimed.increment(by: won.count)
        for claim in won {
            dueToClaimed.recordMilliseconds(max(0, (now - claim.notBefore).milliseconds))
        }
    }

    /// Accepted completions by attempt outcome (`succeeded`, `failed`, `timed_out`, …): a bounded label; with
    /// `jobLabels` (`BATON_METRICS_JOB_LABELS`) also by job name, which is as many series as there are jobs.
    static func recordCompletions(
        _ batch: [Completion], accepted: [TicketID: Bool], jobLabels: Bool, factory: any MetricsFactory = MetricsSystem.factory
    ) {
        struct Series: Hashable {
            var outcome: AttemptOutcome
            var job: String?
        }
        // One counter lookup per series per batch, not per completion.
        var counts: [Series: Int] = [:]
        for completion in batch where accepted[completion.id] == true {
            counts[Series(outcome: completion.outcome, job: jobLabels ? completion.job ?? "" : nil), default: 0] += 1
        }
        for (series, count) in counts {
            var dimensions = [("outcome", series.outcome.rawValue)]
            if let job = series.job { dimensions.insert(("job", job), at: 0) }
            Counter(label: "baton_attempts_completed_total", dimensions: dimensions, factory: factory).increment(by: count)
        }
    }
}

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
