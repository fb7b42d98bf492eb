import BatonRuntime
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

    @Test("the metrics endpoint answers health and readiness for container healthchecks")
    func healthAndReadiness() async throws {
        for ready in [true, false] {
            let router = MetricsEndpoint.buildRouter(registry: PrometheusCollectorRegistry(), readiness: { ready })
            let app = Application(router: router, logger: Logger(label: "metrics-test"))
            try await app.test(.router) { client in
                let health = try await client.execute(uri: "/healthz", method: .get)
                let readiness = try await client.execute(uri: "/readyz", method: .get)
                #expect(health.status == .ok)
                #expect(readiness.status == (ready ? .ok : .serviceUnavailable))
            }
        }
    }
}
