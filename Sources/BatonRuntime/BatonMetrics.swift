import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// Process-wide metrics for every Baton role: swift-metrics backed by one Prometheus registry.
///
/// A role calls ``bootstrap()`` once at start and hands the registry to whatever serves `/metrics`
/// (the gateway itself, or a ``MetricsEndpoint`` in the scheduler and executor). Labels stay
/// bounded: no per-job or per-ticket labels (CONTRACT §9a "Metrics").
public enum BatonMetrics {
    private static let installed = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Installs a Prometheus-backed `MetricsSystem` and returns its registry. Calling it again returns the same
    /// registry instead of failing, so a process that runs several roles bootstraps safely.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        installed.withLock { current in
            if let current { return current }
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(factory(for: registry))
            current = registry
            return registry
        }
    }

    /// A factory writing into `registry`, with latency buckets suited to an API and a scheduler
    /// (1 ms to 10 s). Tests use it directly instead of the global system.
    public static func factory(for registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        return factory
    }

    /// The Prometheus text exposition content type.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}
