import Gateway
import Hummingbird
import HummingbirdTesting
import Logging
import Metrics
import Prometheus
import Testing

@Suite("Metrics endpoint for other roles")
struct MetricsEndpointTests {
    @Test("MetricsEndpoint serves what was recorded through swift-metrics into its registry")
    func servesRegistry() async throws {
        let registry = PrometheusCollectorRegistry()
        Counter(label: "baton_test_events_total", dimensions: [("kind", "a")], factory: BatonMetrics.factory(for: registry))
            .increment(by: 3)
        let app = Application(router: MetricsEndpoint.buildRouter(registry: registry), logger: Logger(label: "metrics-test"))
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            #expect(String(buffer: response.body).contains(#"baton_test_events_total{kind="a"} 3"#))
            #expect(try await client.execute(uri: "/other", method: .get).status == .notFound)
        }
    }
}
