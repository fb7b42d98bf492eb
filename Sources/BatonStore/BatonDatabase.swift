import BatonCore
import Foundation
import GRDB

/// The shared SQLite file, opened once per process (GRDB's rule: one `DatabasePool` per file per process).
///
/// Every role migrates on start; concurrent starts are serialized by an advisory file lock,
/// because GRDB's migrator reads the applied list and applies the rest in separate transactions.
public final class BatonDatabase: Sendable {
    let pool: DatabasePool
    /// Group commit for writes that arrive in bursts from many clients (the gateway's triggers).
    let grouped: GroupedWriter
    /// Keeps WAL checkpoints (and their fsyncs) out of commits.
    private let checkpointer: WALCheckpointer
    public let configuration: StoreConfiguration

    public init(_ configuration: StoreConfiguration) throws(StoreError) {
        self.configuration = configuration
        let directory = URL(fileURLWithPath: configuration.path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError(.unavailable, "cannot create \(directory.path): \(error.localizedDescription)")
        }
        var config = Configuration()
        config.busyMode = .callback(BatonDatabase.busyHandler(timeout: configuration.busyTimeout))
        config.maximumReaderCount = 4
        let synchronous = configuration.sync == .full ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // Checkpoints run in the background (WALCheckpointer); a commit does one itself only as a backstop.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 10000")
        }
        pool = try StoreError.mapping("open \(configuration.path)") {
            try DatabasePool(path: configuration.path, configuration: config)
        }
        grouped = GroupedWriter(pool)
        checkpointer = WALCheckpointer(path: configuration.path, synchronous: synchronous)
    }

    /// A short read on the calling thread. WAL readers never wait for writers, so this blocks for the read itself
    /// (tens of microseconds for the gateway's lookups); the async `read` hops to a dispatch queue and back,
    /// which cost the gateway more than the read.
    func readHere<T>(_ operation: String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        try StoreError.mapping(operation) { try pool.read(body) }
    }

    /// Creates or upgrades the schema. Safe when many processes start at once.
    public func migrate() throws(StoreError) {
        let lockPath = configuration.path + ".migrate-lock"
        let fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError(.unavailable, "cannot open \(lockPath): errno \(errno)") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw StoreError(.unavailable, "cannot lock \(lockPath): errno \(errno)") }
        }
        defer { flock(fd, LOCK_UN) }
        let migrator = Migrations.migrator
        try StoreError.mapping("migrate") { try migrator.migrate(pool) }
    }

    /// Readiness (CONTRACT §9a): the database answers and every migration this binary knows is applied.
    /// Migrations from a newer binary are tolerated.
    public func isSchemaCurrent() async -> Bool {
        let migrator = Migrations.migrator
        do {
            return try await pool.read { db in
                let applied = try migrator.appliedIdentifiers(db)
                return Set(migrator.migrations).isSubset(of: applied)
            }
        } catch {
            return false
        }
    }

    /// A consistent online copy of the file (`VACUUM INTO`), for backups.
    public func backup(to path: String) async throws(StoreError) {
        try await StoreError.mapping("backup") {
            try await pool.writeWithoutTransaction { db in
                try db.execute(sql: "VACUUM INTO ?", arguments: [path])
            }
        }
    }

    /// SQLite's own busy handler sleeps in coarse steps; with several processes taking short
    /// write locks, polling every 50–200 µs cuts the wait to roughly the lock holder's time.
    static func busyHandler(timeout: TimeSpan) -> Database.BusyCallback {
        let fastTries = 2000  // about 0.25 s of fine-grained polling
        let budgetMicros = max(Int64(0), timeout.milliseconds.multipliedSaturated(by: 1000))
        return { tries in
            let spentMicros = tries < fastTries ? Int64(tries) * 125 : Int64(fastTries) * 125 + Int64(tries - fastTries) * 1000
            guard spentMicros < budgetMicros else { return false }
            usleep(tries < fastTries ? UInt32.random(in: 50...200) : 1000)
            return true
        }
    }
}

extension StoreError {
    /// Runs a GRDB operation, translating SQLite's errors into `StoreError`s.
    static func mapping<T>(_ operation: String, _ body: () throws -> T) throws(StoreError) -> T {
        do {
            return try body()
        } catch {
            throw StoreError(translating: error, operation: operation)
        }
    }

    static func mapping<T>(_ operation: String, _ body: () async throws -> T) async throws(StoreError) -> T {
        do {
            return try await body()
        } catch {
            throw StoreError(translating: error, operation: operation)
        }
    }

    init(translating error: any Error, operation: String) {
        if let storeError = error as? StoreError {
            self = storeError
        } else if let dbError = error as? DatabaseError {
            switch dbError.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                self = StoreError(.unavailable, "\(operation): the database is locked (busy timeout exceeded)")
            case .SQLITE_CANTOPEN, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_READONLY:
                self = StoreError(.unavailable, "\(operation): \(dbError.message ?? "\(dbError.resultCode)")")
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                self = StoreError(.corrupt, "\(operation): \(dbError.message ?? "database file is corrupt")")
            default:
                self = StoreError(.unavailable, "\(operation): \(dbError)")
            }
        } else {
            self = StoreError(.corrupt, "\(operation): \(error)")
        }
    }
}
