import BatonCore
import BatonPostgres
import BatonStore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// A fresh, migrated database (`baton_t<N>`) on the process's ``PostgresCluster``, dropped when this is released:
/// the contract suite's PostgreSQL backend.
public final class TemporaryPostgres: Sendable {
    public let name: String
    public let backend: PostgresBackend
    public let cluster: PostgresCluster
    /// The `run()` tasks of this database's clients (the first one's and every ``connect()``'s), cancelled on release.
    private let clientTasks = Mutex<[Task<Void, Never>]>([])

    private static let counter = Atomic<Int>(0)

    static let logger: Logger = {
        var logger = Logger(label: "baton.test.postgres")
        logger.logLevel = .error
        return logger
    }()

    /// The `postgres` database, for CREATE and DROP DATABASE; its client runs for the whole test process.
    private static let admin: Result<PostgresClient, PostgresCluster.ClusterError> = PostgresCluster.shared.map { cluster in
        let client = PostgresClient(configuration: cluster.configuration(database: "postgres", maximumConnections: 2), backgroundLogger: logger)
        Task { await client.run() }
        return client
    }

    public init() async throws {
        let cluster = try PostgresCluster.shared.get()
        let admin = try Self.admin.get()
        self.cluster = cluster
        name = "baton_t\(Self.counter.add(1, ordering: .relaxed).newValue)"
        // A generated name of letters, digits and `_`: an identifier, which cannot be a bind parameter.
        try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Self.logger)
        backend = PostgresBackend(configuration: cluster.configuration(database: name), logger: Self.logger)
        start(backend.client)
        try await backend.prepare()
    }

    deinit {
        for task in clientTasks.withLock({ $0 }) { task.cancel() }
        if case .success(let admin) = Self.admin {
            let statement = "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"
            Task { _ = try? await admin.query(PostgresQuery(unsafeSQL: statement), logger: Self.logger) }
        }
    }

    private func start(_ client: PostgresClient) {
        clientTasks.withLock { $0.append(Task { await client.run() }) }
    }

    /// The database as `BATON_DB` names it, for a `baton` child process (the cluster trusts loopback: no password).
    public var url: String { cluster.url(database: name) }

    /// Other, independent stores on the same database, as a second process would open them.
    public func connect() -> Stores { connect(settings: nil).stores }

    /// Another backend on the same database, running; with `settings`, its pool size and server-side timeouts.
    public func connect(settings: PostgresConnectionSettings?) -> PostgresBackend {
        let configuration = settings.map { cluster.configuration(database: name, settings: $0) } ?? cluster.configuration(database: name)
        let other = PostgresBackend(
            configuration: configuration, operationLimit: (settings ?? PostgresConnectionSettings()).operationLimit, logger: Self.logger)
        start(other.client)
        return other
    }

    /// A plain client on the same database, running, for what the stores never do (holding a lock open).
    public func client() -> PostgresClient {
        let client = PostgresClient(configuration: cluster.configuration(database: name, maximumConnections: 2), backgroundLogger: Self.logger)
        start(client)
        return client
    }

    /// The first column of the first row of `sql` as an integer (nil when there is no row or it is NULL): for the
    /// end-to-end invariants the store API does not expose. `sql` is the test's own text, never user input.
    public func scalar(_ sql: String) async throws -> Int64? {
        let rows = try await backend.client.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger).collect()
        return try rows.first?.decode(Int64?.self)
    }

    /// The columns of `table` in this database, in their order.
    public func columns(of table: String) async throws -> [String] {
        let rows = try await backend.client.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = \(table) ORDER BY ordinal_position",
            logger: Self.logger)
        var names: [String] = []
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }

    /// Overwrites the stored spec of a job's revision with `json`, as a newer build would leave it.
    public func storeRawSpec(jobID: JobID, revision: Int64, json: String) async throws {
        try await backend.client.withTransaction(logger: Self.logger) { connection in
            try await connection.query("UPDATE job SET spec = \(json) WHERE id = \(jobID.rawValue)", logger: Self.logger)
            try await connection.query(
                "UPDATE job_revision SET spec = \(json) WHERE job_id = \(jobID.rawValue) AND revision = \(revision)", logger: Self.logger)
        }
    }
}
