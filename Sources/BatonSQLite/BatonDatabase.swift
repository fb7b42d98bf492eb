import BatonCore
import BatonStore
import Foundation
import GRDB
import Synchronization

/// The shared SQLite file, opened once per process (GRDB's rule: one `DatabasePool` per file per process).
///
/// Every role migrates on start; concurrent starts are serialized by an advisory file lock,
/// because GRDB's migrator reads the applied list and applies the rest in separate transactions.
public final class BatonDatabase: Sendable {
    package let pool: DatabasePool
    /// Group commit for writes that arrive in bursts from many clients (the gateway's triggers).
    let grouped: GroupedWriter
    /// Keeps WAL checkpoints (and their fsyncs) out of commits.
    let checkpointer: WALCheckpointer
    public let configuration: StoreConfiguration
    /// Reader connections in the pool, and how many reads are running or waiting for one (see ``read(_:)``).
    static let readerCount = 4
    private let readsInFlight = Mutex(0)
    /// This process's caches of what never changes per job revision, shared by every store on this database.
    package let caches: StoreCaches

    public convenience init(_ configuration: StoreConfiguration, caches: StoreCaches = StoreCaches()) throws(StoreError) {
        try self.init(configuration, caches: caches, checkpointInterval: 0.2)
    }

    /// `checkpointInterval`: how often the background checkpointer runs when no commit asks (tests lengthen it).
    init(_ configuration: StoreConfiguration, caches: StoreCaches = StoreCaches(), checkpointInterval: TimeInterval) throws(StoreError) {
        self.configuration = configuration
        self.caches = caches
        let directory = URL(fileURLWithPath: configuration.path).deletingLastPathComponent()
        do {
            // A new directory is the owner's alone too (it may also hold the API token).
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError(.unavailable, "cannot create \(directory.path): \(error.localizedDescription)")
        }
        try OwnerOnly.prepareDatabaseFiles(configuration.path)
        var config = Configuration()
        config.busyMode = .callback(BatonDatabase.busyHandler(timeout: configuration.busyTimeout))
        config.maximumReaderCount = Self.readerCount
        let synchronous = configuration.sync == .full ? "FULL" : "NORMAL"
        let checkpointer = WALCheckpointer(path: configuration.path, synchronous: synchronous, interval: checkpointInterval)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // Checkpoints run in the background; a commit only wakes that thread, and checkpoints itself as a backstop.
            checkpointer.install(on: db.sqliteConnection)
        }
        pool = try StoreError.mapping("open \(configuration.path)") {
            try DatabasePool(path: configuration.path, configuration: config)
        }
        grouped = GroupedWriter(pool)
        self.checkpointer = checkpointer
        checkpointer.start()
    }

    /// Every read of the stores. It runs on the calling thread when a reader connection is certainly free, and
    /// otherwise through GRDB's async read, which waits for a connection on a dispatch queue.
    ///
    /// Why: GRDB's async read hops to a dispatch queue and back, which cost the gateway more than its lookups (tens
    /// of microseconds), and measured here about 14 % of its GET rate. A synchronous read never waits for a writer
    /// (WAL), only for a free connection; counting every read in flight, including the async ones, against the
    /// pool's `readerCount` rules that wait out, so no read blocks a thread of the cooperative pool.
    package func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let certainlyFree = readsInFlight.withLock { count -> Bool in
            count += 1
            return count <= Self.readerCount
        }
        defer { readsInFlight.withLock { $0 -= 1 } }
        if certainlyFree { return try readOnThisThread(body) }
        return try await pool.read(body)
    }

    /// GRDB's synchronous read (from an async context Swift would pick the async overload).
    private func readOnThisThread<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    /// Creates or upgrades the schema. Safe when many processes start at once.
    public func migrate() throws(StoreError) {
        let lockPath = configuration.path + ".migrate-lock"
        let fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
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
            return try await read { db in
                let applied = try migrator.appliedIdentifiers(db)
                return Set(migrator.migrations).isSubset(of: applied)
            }
        } catch {
            return false
        }
    }

    /// A consistent online copy of the file (`VACUUM INTO`), for backups, readable by the owner only.
    /// `path` must not exist yet.
    public func backup(to path: String) async throws(StoreError) {
        // VACUUM INTO fills an empty file it is given, keeping its mode; creating it here, exclusively and 0600,
        // means the copy of every job's secrets is never readable by others, whatever the umask.
        try OwnerOnly.createEmpty(path)
        do {
            try await StoreError.mapping("backup") {
                try await pool.writeWithoutTransaction { db in
                    try db.execute(sql: "VACUUM INTO ?", arguments: [path])
                }
            }
        } catch {
            unlink(path)  // an empty or partial copy must not pass for a backup
            throw StoreError(translating: error, operation: "backup")
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

/// The database holds job secrets (headers, env), so its files are the owner's alone (mode 0600).
enum OwnerOnly {
    static let mode: mode_t = 0o600

    /// Creates the database file 0600 before SQLite opens it. SQLite gives the `-wal` and `-shm` files the main
    /// file's mode, so they follow. Files left readable by an older version are narrowed to 0600.
    static func prepareDatabaseFiles(_ path: String) throws(StoreError) {
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StoreError(.unavailable, "cannot create \(path): errno \(errno)") }
        close(fd)
        for file in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            // Only ours to narrow; a file another user owns is left for the operator (and SQLite says so if it cannot open it).
            guard stat(file, &info) == 0, info.st_uid == geteuid(), info.st_mode & 0o077 != 0 else { continue }
            _ = chmod(file, mode)
        }
    }

    /// A new empty file, 0600, that must not exist yet.
    static func createEmpty(_ path: String) throws(StoreError) {
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode)
        guard fd >= 0 else {
            let code = errno
            throw StoreError(
                code == EEXIST ? .conflict : .unavailable,
                code == EEXIST ? "\(path) already exists" : "cannot create \(path): errno \(code)")
        }
        close(fd)
    }
}

extension StoreError {
    /// Runs a GRDB operation, translating SQLite's errors into `StoreError`s.
    package static func mapping<T>(_ operation: String, _ body: () throws -> T) throws(StoreError) -> T {
        do {
            return try body()
        } catch {
            throw StoreError(translating: error, operation: operation)
        }
    }

    package static func mapping<T>(_ operation: String, _ body: () async throws -> T) async throws(StoreError) -> T {
        do {
            return try await body()
        } catch {
            throw StoreError(translating: error, operation: operation)
        }
    }

    /// Classifies by what the caller can do: wait and retry (`unavailable`), fix its request (`conflict`), stop
    /// quietly (`cancelled`), call an operator (`corrupt`), or report a bug (`internal`).
    init(translating error: any Error, operation: String) {
        if let storeError = error as? StoreError {
            self = storeError
        } else if let dbError = error as? DatabaseError {
            switch dbError.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                self = StoreError(.unavailable, "\(operation): the database is locked (busy timeout exceeded)")
            case .SQLITE_CANTOPEN, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_READONLY, .SQLITE_NOMEM, .SQLITE_PROTOCOL:
                self = StoreError(.unavailable, "\(operation): \(dbError.message ?? "\(dbError.resultCode)")")
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                self = StoreError(.corrupt, "\(operation): \(dbError.message ?? "database file is corrupt")")
            case .SQLITE_CONSTRAINT:
                // A unique key taken by a concurrent writer, or a row that is gone: the request conflicts with the data.
                self = StoreError(.conflict, "\(operation): \(dbError.message ?? "constraint violated")")
            case .SQLITE_INTERRUPT:
                self = StoreError(.cancelled, "\(operation): interrupted")
            default:
                self = StoreError(.internal, "\(operation): \(dbError)")
            }
        } else if error is CancellationError {
            self = StoreError(.cancelled, "\(operation): cancelled")
        } else {
            self = StoreError(.internal, "\(operation): \(error)")
        }
    }
}
