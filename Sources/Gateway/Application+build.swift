import BatonCore
import BatonStore
import Hummingbird
import Logging
import Prometheus

/// Builds the gateway: wires the stores it is handed (opened and migrated by the caller, the composition root),
/// the router and the scheduler waker into one Hummingbird application. Nothing runs until the caller runs it, so
/// `baton gateway` and the tests (`app.test(.router)`) build exactly the same thing.
public func buildApplication(
    _ configuration: GatewayConfiguration, stores: Stores, registry: PrometheusCollectorRegistry, clock: any WallClock = SystemWallClock(),
    logger: Logger, routes: RouteTable = RouteTable()
) async throws -> some ApplicationProtocol {
    try configuration.validate()
    let waker = await SchedulerWaker.connect(
        endpoints: configuration.schedulers, keys: configuration.dispatchKeys, serverKey: configuration.dispatchServerKey,
        logger: logger)
    let dependencies = GatewayDependencies(
        stores: stores, clock: clock, allowCommands: configuration.allowCommands, waker: waker, registry: registry,
        nodeLiveness: configuration.nodeLiveness,
        tokens: configuration.apiToken.map { APITokens(full: $0, read: configuration.apiReadToken) },
        consolePages: try ConsolePages())
    let router = buildRouter(dependencies, configuration: configuration, routes: routes)
    return Application(
        router: router,
        configuration: .init(address: configuration.bind.hummingbird, serverName: "baton-gateway"),
        services: [waker],
        logger: logger)
}

/// What the controllers share.
struct GatewayDependencies: Sendable {
    let stores: Stores
    let clock: any WallClock
    let allowCommands: Bool
    let waker: SchedulerWaker
    let registry: PrometheusCollectorRegistry
    let nodeLiveness: TimeSpan
    /// The API tokens; nil when the gateway runs without one (loopback only).
    let tokens: APITokens?
    let consolePages: ConsolePages
    /// The console's sign-ins, in this process's memory.
    let consoleSessions = ConsoleSessions()
    /// Encoded GET bodies of unchanged jobs: this process's, made once with the dependencies.
    let jobBodies = JobBodyCache(limit: 1024)

    var jobs: any JobStore { stores.jobs }
    var tickets: any TicketStore { stores.tickets }
    var nodes: any NodeStore { stores.nodes }
    var leases: any LeaderLeaseStore { stores.leases }
}

/// The router with its middleware, outermost first: metrics (sees every final status), request id,
/// problem mapping (nothing below it reaches an API client as anything but problem+json), the console's
/// HTML errors and security headers (its paths only), Host check on loopback binds, the same-origin rule for
/// unsafe methods, bearer auth, body and content-type rules. Middleware must be added before the routes it wraps.
func buildRouter(
    _ dependencies: GatewayDependencies, configuration: GatewayConfiguration, routes: RouteTable
) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: HTTPMetricsMiddleware(registry: dependencies.registry))
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: ProblemMiddleware(routes: routes))
    router.add(middleware: ConsoleMiddleware(pages: dependencies.consolePages))
    if configuration.bind.isLoopback {
        router.add(middleware: HostCheckMiddleware())
    }
    router.add(middleware: SameOriginMiddleware())
    if let tokens = dependencies.tokens {
        router.add(middleware: AuthMiddleware(tokens: tokens))
    }
    router.add(middleware: BodyPolicyMiddleware())

    SystemController(dependencies: dependencies).addRoutes(to: RecordingGroup(router, prefix: "", table: routes))
    JobController(dependencies: dependencies).addRoutes(to: RecordingGroup(router, prefix: "/v1/jobs", table: routes))
    TicketController(dependencies: dependencies).addRoutes(to: RecordingGroup(router, prefix: "/v1/tickets", table: routes))
    ConsoleController(dependencies: dependencies).addRoutes(to: router.group())
    return router
}
