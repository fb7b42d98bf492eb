import ArgumentParser
import BatonCore
import BatonPostgres
import BatonSQLite
import BatonStore
import Foundation
import Logging
import ServiceLifecycle

/// The backend `BATON_DB` names, opened for one role process: the composition root's one place that knows the
/// concrete stores. SQLite is opened and migrated here; PostgreSQL is migrated, and its clock first sampled, by
/// ``services``, which the role's `ServiceGroup` runs first, and the role's own services start only after that.
struct OpenedDatabase {
    let stores: Stores
    /// PostgreSQL: the client's pool and its preparation (migrations, then the clock sample every 10 s).
    let services: [any Service]
    /// For logs: the SQLite path, or the PostgreSQL URL without its password.
    let description: String
    private let postgres: PostgresBackend?

    /// What the role's `ServiceGroup` runs: the database's services, then the role's, which wait for preparation.
    func serviceGroup(_ roleServices: [any Service]) -> [any Service] {
        guard let postgres else { return roleServices }
        return services + roleServices.map { AfterPreparation(backend: postgres, service: $0) }
    }

    static func open(
        _ location: DatabaseLocation, sync: StoreConfiguration.Sync, postgres settings: PostgresConnectionSettings = PostgresConnectionSettings(),
        logger: Logger
    ) throws(StoreError) -> OpenedDatabase {
        switch location {
        case .sqlite(let path):
            let database = try BatonDatabase(StoreConfiguration(path: path, sync: sync))
            try database.migrate()
            return OpenedDatabase(stores: .sqlite(database), services: [], description: path, postgres: nil)
        case .postgres(let url):
            let backend = PostgresBackend(url, settings: settings, localClock: HostClock.make(), logger: logger)
            return OpenedDatabase(stores: backend.stores, services: backend.services, description: "\(url)", postgres: backend)
        }
    }

    /// Starts a role service once the database is prepared; if the process stops first, it never starts.
    private struct AfterPreparation: Service {
        let backend: PostgresBackend
        let service: any Service

        func run() async throws {
            guard await backend.waitUntilPrepared() else { return }
            try await service.run()
        }
    }
}

extension CommonOptions {
    /// `BATON_DB` / `--db`, parsed; a URL of an unknown scheme is a usage error (exit 2) naming BATON_DB.
    func databaseLocation() throws -> DatabaseLocation {
        let text = Settings.string(database, env: "BATON_DB", default: "./.baton/baton.sqlite")
        do {
            return try DatabaseLocation(parsing: text)
        } catch {
            throw CLIFailure.usage(error.description)
        }
    }

    /// The backend for a long-running role. Exits 2 on a malformed `BATON_DB` or `BATON_DB_*` setting, and when
    /// PostgreSQL cannot be reached within `BATON_DB_CONNECT_TIMEOUT` or refuses the connection (naming host:port
    /// and the reason, never the password); 1 when an SQLite file cannot be opened. Once this has returned, an
    /// outage no longer stops the role: its store calls fail with `.unavailable` and are retried until the
    /// database is back.
    func openDatabase(for role: DatabaseRole, logger: Logger) async throws -> OpenedDatabase {
        let location = try reportingFailures { try databaseLocation() }
        let sync = try reportingFailures { try storeConfiguration().sync }
        let settings = try reportingFailures { try postgresSettings(for: role) }
        if case .postgres(let url) = location {
            do {
                try await PostgresStartupCheck.waitUntilReachable(url, settings: settings, logger: logger)
            } catch {
                throw reportedUsage("database: \(error.description)")
            }
        }
        do {
            return try OpenedDatabase.open(location, sync: sync, postgres: settings, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("error: database: \(error.message)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// `BATON_DB_POOL`, `BATON_DB_STATEMENT_TIMEOUT`, `BATON_DB_CONNECT_TIMEOUT`: validated for every backend (a typo
    /// is caught before the day the URL changes), used by PostgreSQL only.
    func postgresSettings(for role: DatabaseRole) throws -> PostgresConnectionSettings {
        do {
            return PostgresConnectionSettings(
                maximumConnections: try Settings.int(dbPool, env: "BATON_DB_POOL", default: role.defaultPool, in: 1...1000),
                statementTimeout: try Settings.span(
                    dbStatementTimeout, env: "BATON_DB_STATEMENT_TIMEOUT", default: PostgresConnectionSettings.defaultStatementTimeout,
                    in: TimeBounds.dbStatementTimeout),
                startupWait: try Settings.span(
                    dbConnectTimeout, env: "BATON_DB_CONNECT_TIMEOUT", default: PostgresConnectionSettings.defaultStartupWait,
                    in: TimeBounds.dbConnectTimeout))
        } catch let error as ValidationError {
            throw CLIFailure.usage(error.message)
        }
    }

    /// The backend for a command that opens SQLite only (`baton migrate` on a file): exits 2 on a malformed
    /// `BATON_DB`, 1 when the database cannot be opened.
    func openDatabase(logger: Logger) throws -> OpenedDatabase {
        let location = try reportingFailures { try databaseLocation() }
        let sync = try reportingFailures { try storeConfiguration().sync }
        do {
            return try OpenedDatabase.open(location, sync: sync, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("error: database: \(error.message)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// The SQLite file for the commands that only work on SQLite (`backup`).
    func sqliteConfiguration(for command: String) throws -> StoreConfiguration {
        guard case .sqlite(let path) = try reportingFailures({ try databaseLocation() }) else {
            throw reportedUsage("baton \(command) works on an SQLite file; for PostgreSQL use pg_dump")
        }
        var configuration = try storeConfiguration()
        configuration.path = path
        return configuration
    }
}

/// The long-running roles, each with the pool it needs by default (Docs/Configuration.md, "PostgreSQL
/// connections", gives the arithmetic): as many connections as the role has tasks that talk to the database at
/// once, so none of them waits for another's connection.
enum DatabaseRole {
    /// Lease and node heartbeats, the leader's dispatch loop, the maintenance sweeps, history retention, the clock
    /// sample and a `/readyz` probe: six tasks, each one statement or transaction at a time; 8 leaves room for the
    /// lease renewal never to queue.
    case scheduler
    /// The write queue (claims and completions, one batch at a time), claim heartbeats, the node heartbeat, the clock
    /// sample; the HTTP or command actions themselves never hold a connection.
    case executor
    /// One connection per request in flight (each request is one short transaction or a few reads); 20 serve
    /// thousands of requests a second, and more requests wait for a connection rather than fail.
    case gateway

    var defaultPool: Int {
        switch self {
        case .scheduler: 8
        case .executor: 4
        case .gateway: 20
        }
    }
}

/// A usage error (exit 2), printed.
func reportedUsage(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return CLIFailure.usage(message).exitCode
}

/// `baton migrate` on PostgreSQL: the client runs only while the schema is created or upgraded.
enum PostgresMigration {
    static func run(_ url: DatabaseLocation.PostgresURL, logger: Logger) async throws {
        let backend = PostgresBackend(url, maximumConnections: 1, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await backend.client.run() }
            defer { group.cancelAll() }
            do throws(StoreError) {
                try await backend.prepare()
            } catch {
                FileHandle.standardError.write(Data("error: database: \(error.message)\n".utf8))
                throw ExitCode.failure
            }
        }
    }
}
