import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// A tiny HTTP server for roles without an API of their own (`baton scheduler`, `baton executor`;
/// `BATON_METRICS_BIND`, off by default): `GET /metrics`, plus `/healthz` and `/readyz` so container
/// healthchecks work the same way as the gateway's. Add it to the role's `ServiceGroup`; it stops with
/// the group's graceful shutdown.
public struct MetricsEndpoint: Service {
    public let address: ListenAddress
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    let readiness: @Sendable () async -> Bool

    /// - Parameter readiness: the role's readiness (database reachable, schema current).
    public init(
        address: ListenAddress, registry: PrometheusCollectorRegistry, logger: Logger,
        readiness: @escaping @Sendable () async -> Bool = { true }
    ) {
        self.address = address
        self.registry = registry
        self.logger = logger
        self.readiness = readiness
    }

    /// The router alone, so tests can drive it without a socket.
    public static func buildRouter(
        registry: PrometheusCollectorRegistry, readiness: @escaping @Sendable () async -> Bool = { true }
    ) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/metrics") { _, _ in MetricsText(registry: registry) }
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { _, _ -> Response in
            await readiness()
                ? Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ready\n")))
                : Response(status: .serviceUnavailable, body: ResponseBody(byteBuffer: ByteBuffer(string: "not ready\n")))
        }
        return router
    }

    public func run() async throws {
        let app = Application(
            router: Self.buildRouter(registry: registry, readiness: readiness),
            configuration: .init(address: address.hummingbird, serverName: "baton"),
            logger: logger)
        try await app.run()
    }
}

/// The registry's current contents in the Prometheus text format.
public struct MetricsText: ResponseGenerator {
    let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: BatonMetrics.contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
    }
}
