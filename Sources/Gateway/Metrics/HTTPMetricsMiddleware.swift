import BatonRuntime
import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import Prometheus
import Synchronization

/// Counts requests and measures their latency by route template, method and status:
/// `baton_http_requests_total{route,method,status}` and `baton_http_request_duration_seconds{route,method}`.
/// The route is the template (`/v1/jobs/{name}`), or `unmatched`, so cardinality stays bounded.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: PrometheusMetricsFactory
    /// The counter and timer of each (route, method, status), made once: looking them up in the factory on every
    /// request (label arrays, a locked registry lookup) showed in the gateway's per-request profile.
    let instruments = HTTPInstruments()

    init(registry: PrometheusCollectorRegistry) {
        factory = BatonMetrics.factory(for: registry)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        let method = HTTPInstruments.knownMethods.contains(request.method.rawValue) ? request.method.rawValue : "OTHER"
        let key = HTTPInstruments.Key(endpoint: context.endpointPath, method: method, status: Int(response.status.code))
        let (counter, timer) = instruments.get(key) {
            let route = Self.routeLabel(context.endpointPath)
            return (
                Metrics.Counter(
                    label: "baton_http_requests_total",
                    dimensions: [("route", route), ("method", method), ("status", String(response.status.code))],
                    factory: factory),
                Metrics.Timer(
                    label: "baton_http_request_duration_seconds", dimensions: [("route", route), ("method", method)],
                    factory: factory)
            )
        }
        counter.increment()
        timer.record(duration: elapsed)
        return response
    }

    /// `/v1/jobs/:name` → `/v1/jobs/{name}`; unmatched paths share one label.
    static func routeLabel(_ endpoint: String?) -> String {
        guard let endpoint, endpoint != "NotFound" else { return "unmatched" }
        let segments = endpoint.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
        return "/" + segments.joined(separator: "/")
    }
}

/// The HTTP metrics middleware's instruments, by (endpoint template, method, status): a bounded set, since
/// endpoints are route templates (or one "not found"), methods outside `knownMethods` count as `OTHER`, and the
/// API returns a handful of statuses.
final class HTTPInstruments: Sendable {
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    struct Key: Hashable {
        var endpoint: String?
        var method: String
        var status: Int
    }

    private let made = Mutex<[Key: (Metrics.Counter, Metrics.Timer)]>([:])

    func get(_ key: Key, make: () -> (Metrics.Counter, Metrics.Timer)) -> (Metrics.Counter, Metrics.Timer) {
        if let hit = made.withLock({ $0[key] }) { return hit }
        let instruments = make()
        made.withLock { $0[key] = instruments }
        return instruments
    }
}
