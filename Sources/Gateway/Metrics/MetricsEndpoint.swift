import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// A tiny HTTP server with one route, `GET /metrics`, for roles without an API of their own
/// (`baton scheduler`, `baton executor`; `BATON_METRICS_BIND`, off by default). Add it to the
/// role's `ServiceGroup`; it stops with the group's graceful shutdown.
public struct MetricsEndpoint: Service {
    public let address: ListenAddress
    let registry: PrometheusCollectorRegistry
    let logger: Logger

    public init(address: ListenAddress, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.address = address
        self.registry = registry
        self.logger = logger
    }

    /// The router alone, so tests can drive it without a socket.
    public static func buildRouter(registry: PrometheusCollectorRegistry) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/metrics") { _, _ in MetricsText(registry: registry) }
        return router
    }

    public func run() async throws {
        let app = Application(
            router: Self.buildRouter(registry: registry),
            configuration: .init(address: address.hummingbird, serverName: "baton"),
            logger: logger)
        try await app.run()
    }
}

/// The registry's current contents in the Prometheus text format.
struct MetricsText: ResponseGenerator {
    let registry: PrometheusCollectorRegistry

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: BatonMetrics.contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
    }
}
