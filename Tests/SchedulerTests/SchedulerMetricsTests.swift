import BatonStore
import Metrics
import Prometheus
import Testing

@testable import Scheduler

@Suite("Scheduler metrics: job labels")
struct SchedulerMetricsTests {
    func exposition(_ registry: PrometheusCollectorRegistry) -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    func report() -> TickReport {
        var report = TickReport()
        report.skipped = 3
        report.unrecordedSkips = 5
        report.byJob = [
            "nightly": JobTicketCounts(written: 0, skipped: 3, unrecorded: 5),
            "hourly": JobTicketCounts(written: 0, skipped: 0),
        ]
        return report
    }

    @Test func withoutJobLabelsTheTickCountersHaveNoJobLabel() {
        let registry = PrometheusCollectorRegistry()
        SchedulerMetrics(jobLabels: false, factory: PrometheusMetricsFactory(registry: registry)).recordTick(report())
        let text = exposition(registry)
        #expect(text.contains("baton_tickets_skipped_total 3"))
        #expect(text.contains("baton_skips_unrecorded_total 5"))
        #expect(!text.contains("job="))
    }

    @Test func withJobLabelsEachJobHasItsSeries() {
        let registry = PrometheusCollectorRegistry()
        SchedulerMetrics(jobLabels: true, factory: PrometheusMetricsFactory(registry: registry)).recordTick(report())
        let text = exposition(registry)
        #expect(text.contains(#"baton_tickets_skipped_total{job="nightly"} 3"#))
        #expect(text.contains(#"baton_skips_unrecorded_total{job="nightly"} 5"#))
        #expect(!text.contains(#"job="hourly""#))  // nothing happened to it: no series
    }
}
