import BatonCore
import BatonStore
import Logging
import PostgresNIO
import ServiceLifecycle

/// Every store on one PostgreSQL database, with the client they share and the clock the roles judge time by.
///
/// `PostgresClient` is a swift-service-lifecycle `Service`: a process runs ``services`` in its `ServiceGroup` (the
/// client's pool, then ``Preparation``: migrations and the first clock sample, then a clock sample every 10 s) and
/// starts its own services only after ``waitUntilPrepared()``.
public final class PostgresBackend: Sendable {
    public let client: PostgresClient
    public let clock: DatabaseClock
    public let stores: Stores
    package let database: PostgresDatabase
    private let prepared = Broadcast<Bool>()

    /// A client for `url` with this process's pool size and server-side timeouts (``PostgresConnectionSettings``).
    /// `localClock`: this host's wall clock, which ``clock`` corrects by the measured offset to the server's.
    public convenience init(
        _ url: DatabaseLocation.PostgresURL, settings: PostgresConnectionSettings, localClock: any WallClock = SystemWallClock(),
        logger: Logger
    ) {
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: Self.tls(url.tls))
        configuration.apply(settings)
        self.init(configuration: configuration, operationLimit: settings.operationLimit, localClock: localClock, logger: logger)
    }

    /// A client for `url` whose pool opens at most `maximumConnections`, with the default timeouts.
    public convenience init(
        _ url: DatabaseLocation.PostgresURL, maximumConnections: Int = 10, localClock: any WallClock = SystemWallClock(), logger: Logger
    ) {
        self.init(url, settings: PostgresConnectionSettings(maximumConnections: maximumConnections), localClock: localClock, logger: logger)
    }

    /// A client for `configuration`; `operationLimit`: ``PostgresConnectionSettings/operationLimit``.
    public init(
        configuration: PostgresClient.Configuration, operationLimit: TimeSpan = PostgresConnectionSettings().operationLimit,
        localClock: any WallClock = SystemWallClock(), logger: Logger
    ) {
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        database = PostgresDatabase(client: client, logger: logger, operationLimit: operationLimit.duration)
        clock = DatabaseClock(local: localClock)
        stores = Stores(
            jobs: PostgresJobStore(database), tickets: PostgresTicketStore(database), claims: PostgresClaimStore(database),
            scheduler: PostgresSchedulerStore(database), leases: PostgresLeaderLeaseStore(database),
            nodes: PostgresNodeStore(database), retention: PostgresRetentionStore(database),
            health: PostgresHealth(database: database), clock: clock)
    }

    private static func tls(_ mode: DatabaseLocation.PostgresURL.TLS) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    /// What a role's `ServiceGroup` runs before the role's own services.
    public var services: [any Service] { [client, Preparation(backend: self)] }

    /// Creates or upgrades the schema (safe when many processes start at once) and takes the first clock sample.
    /// The client must be running.
    public func prepare() async throws(StoreError) {
        try await PostgresMigrations.migrate(database)
        if let estimate = try await clock.synchronize(database) {
            database.logger.info(
                "database clock", metadata: ["offsetMs": "\(estimate.offset.milliseconds)", "uncertaintyMs": "\(estimate.uncertainty.milliseconds)"])
        }
        prepared.publish(true, onlyFirst: true)
    }

    /// Returns once ``prepare()`` has succeeded; false if the calling task was cancelled first.
    public func waitUntilPrepared() async -> Bool { await prepared.next(after: 0) ?? false }

    /// Migrations and the first clock sample, then a clock sample every 10 s until shutdown. A failed preparation
    /// ends the process's `ServiceGroup` (the role cannot run on a database it cannot use); a failed later sample
    /// keeps the last offset.
    struct Preparation: Service {
        let backend: PostgresBackend
        static let interval = Duration.seconds(10)

        func run() async throws {
            try await backend.prepare()
            while true {
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.interval) }
                } catch {
                    return  // shutdown
                }
                do {
                    try await backend.clock.synchronize(backend.database)
                } catch {
                    backend.database.logger.warning("cannot sample the database clock", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

struct PostgresHealth: StoreHealth {
    let database: PostgresDatabase

    func isReady() async -> Bool { await PostgresMigrations.isCurrent(database) }
}
