import ArgumentParser
import BatonRuntime
import BatonStore
import Gateway
import Logging
import ServiceLifecycle

/// `--metrics-bind` / `BATON_METRICS_BIND` for the scheduler and executor: off by default; when set,
/// swift-metrics is bootstrapped with a Prometheus registry and `/metrics` is served there.
struct MetricsOptions: ParsableArguments {
    @Option(help: "Serve Prometheus /metrics on HOST:PORT (env BATON_METRICS_BIND, default off).")
    var metricsBind: String?

    @Flag(
        inversion: .prefixedNo,
        help: "Label ticket and attempt counters with the job name: one series per job (env BATON_METRICS_JOB_LABELS, default false).")
    var metricsJobLabels: Bool?

    /// `BATON_METRICS_JOB_LABELS`: off by default so the number of series stays bounded (CONTRACT §9a).
    func jobLabels() throws -> Bool {
        try Settings.bool(metricsJobLabels, env: "BATON_METRICS_JOB_LABELS", default: false)
    }

    /// Call before the role creates its metrics, so they register with the Prometheus registry.
    /// `/readyz` answers 200 while the database is reachable and its schema current.
    func endpoint(logger: Logger, health: any StoreHealth) throws -> [any Service] {
        guard let text = Settings.optionalString(metricsBind, env: "BATON_METRICS_BIND") else { return [] }
        let address: ListenAddress
        do {
            address = try ListenAddress(parsing: text)
        } catch {
            throw ValidationError("BATON_METRICS_BIND / --metrics-bind: \(error)")
        }
        return [
            MetricsEndpoint(
                address: address, registry: BatonMetrics.bootstrap(), logger: logger,
                readiness: { await health.isReady() })
        ]
    }
}
