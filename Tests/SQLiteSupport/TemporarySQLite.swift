import BatonSQLite
import BatonStore
import BatonTestSupport
import Foundation

/// A fresh, migrated SQLite file in its own temporary directory, removed when this is released. Shared by the
/// contract suite (as its SQLite backend) and the SQLite-only tests, so both test the same set-up.
public final class TemporarySQLite: Sendable {
    public let directory: TemporaryDirectory
    public let database: BatonDatabase

    public init(prefix: String = "store") throws {
        directory = try TemporaryDirectory(prefix)
        database = try BatonDatabase(StoreConfiguration(path: directory.databasePath))
        try database.migrate()
    }

    deinit {
        directory.remove()
    }

    public var path: String { database.configuration.path }

    /// Another connection pool on the same file, as a second process would open it.
    public func secondConnection() throws -> BatonDatabase {
        let other = try BatonDatabase(StoreConfiguration(path: path))
        try other.migrate()
        return other
    }
}
