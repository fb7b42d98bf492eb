import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import Prometheus

/// Counts requests and measures their latency by route template, method and status:
/// `baton_http_requests_total{route,method,status}` and `baton_http_request_duration_seconds{route,method}`.
/// The route is the template (`/v1/jobs/{name}`), or `unmatched`, so cardinality stays bounded.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: PrometheusMetricsFactory
    static var knownMethods: Set<String> { ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] }

    init(registry: PrometheusCollectorRegistry) {
        factory = BatonMetrics.factory(for: registry)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        let route = Self.routeLabel(context.endpointPath)
        let method = Self.knownMethods.contains(request.method.rawValue) ? request.method.rawValue : "OTHER"
        Counter(
            label: "baton_http_requests_total",
            dimensions: [("route", route), ("method", method), ("status", String(response.status.code))], factory: factory
        ).increment()
        Metrics.Timer(
            label: "baton_http_request_duration_seconds", dimensions: [("route", route), ("method", method)], factory: factory
        ).record(duration: elapsed)
        return response
    }

    /// `/v1/jobs/:name` → `/v1/jobs/{name}`; unmatched paths share one label.
    static func routeLabel(_ endpoint: String?) -> String {
        guard let endpoint, endpoint != "NotFound" else { return "unmatched" }
        let segments = endpoint.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
        return "/" + segments.joined(separator: "/")
    }
}
