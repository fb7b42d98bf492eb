import BatonCore
import BatonStore
import Metrics
import Prometheus
import Testing

@testable import Executor

@Suite("Executor metrics: job labels")
struct ExecutorMetricsTests {
    func exposition(jobLabels: Bool) -> String {
        let registry = PrometheusCollectorRegistry()
        let token = ClaimToken.random()
        let a = TicketID.manual(job: JobID(rawValue: "j1"), idempotencyKey: "a")
        let b = TicketID.manual(job: JobID(rawValue: "j1"), idempotencyKey: "b")
        let fenced = TicketID.manual(job: JobID(rawValue: "j1"), idempotencyKey: "c")
        let batch = [a, b, fenced].map {
            Completion(id: $0, token: token, outcome: .succeeded, retry: RetryPolicy(), job: "nightly")
        }
        ExecutorMetrics.recordCompletions(
            batch, accepted: [a: true, b: true, fenced: false], jobLabels: jobLabels,
            factory: PrometheusMetricsFactory(registry: registry))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    @Test func attemptOutcomesCarryTheJobLabelOnlyWhenAskedTo() {
        let plain = exposition(jobLabels: false)
        #expect(plain.contains(#"baton_attempts_completed_total{outcome="succeeded"} 2"#))
        #expect(!plain.contains("job="))
        let labelled = exposition(jobLabels: true)
        #expect(labelled.contains(#"job="nightly""#))
        #expect(labelled.contains(#"outcome="succeeded""#))
        #expect(labelled.contains("} 2"))
    }
}
