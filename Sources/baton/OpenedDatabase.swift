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

    static func open(_ location: DatabaseLocation, sync: StoreConfiguration.Sync, logger: Logger) throws(StoreError) -> OpenedDatabase {
        switch location {
        case .sqlite(let path):
            let database = try BatonDatabase(StoreConfiguration(path: path, sync: sync))
            try database.migrate()
            return OpenedDatabase(stores: .sqlite(database), services: [], description: path, postgres: nil)
        case .postgres(let url):
            let backend = PostgresBackend(url, localClock: HostClock.make(), logger: logger)
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

    /// The backend for a role: exits 2 on a malformed `BATON_DB`, 1 when the database cannot be opened.
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
