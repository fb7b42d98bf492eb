import BatonCore
import BatonStore
import Foundation
import GRDB

/// An SQLite file read out for `baton migrate --from sqlite:PATH --to …`: opened read-only (nothing in it changes,
/// and a copy that fails leaves it as it was), with one read transaction held from ``open(path:)`` to ``close()``,
/// so every page of every table comes from the same snapshot even if a forgotten process still writes.
///
/// One connection (`DatabaseQueue`) rather than the stores' pool: the transaction must span every page, and GRDB runs
/// each `inDatabase` call on the queue's one connection, where a `BEGIN` stays open between calls once
/// `allowsUnsafeTransactions` says that is meant (GRDB otherwise stops the process, taking it for a forgotten COMMIT).
/// The reads cannot all happen inside one GRDB closure: PostgreSQL is written between pages, asynchronously.
public final class SQLiteTransferSource: TransferSource {
    private let queue: DatabaseQueue
    /// The leader lease row as the snapshot has it (nil: no scheduler ever ran on the file).
    public let leaderLease: LeaderLease?
    public let path: String

    private init(queue: DatabaseQueue, leaderLease: LeaderLease?, path: String) {
        self.queue = queue
        self.leaderLease = leaderLease
        self.path = path
    }

    /// Opens `path` read-only and checks that it is a Baton database at exactly the schema this build writes.
    public static func open(path: String) throws(TransferError) -> SQLiteTransferSource {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TransferError(.sourceMissing, "\(path): no such SQLite file")
        }
        var configuration = Configuration()
        configuration.readonly = true
        // Another process may hold a write lock for a moment (a checkpoint); wait as the stores do.
        configuration.busyMode = .timeout(5)
        configuration.allowsUnsafeTransactions = true
        let queue: DatabaseQueue
        let lease: LeaderLease?
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            lease = try queue.inDatabase { db throws -> LeaderLease? in
                try db.beginTransaction(.deferred)
                try checkSchema(db, path: path)
                return try Row.fetchOne(db, sql: "SELECT * FROM leader_lease WHERE name = 'scheduler'").map { row in
                    LeaderLease(
                        holder: row["holder"], epoch: row["epoch"], leaseExpiresAt: Timestamp(milliseconds: row["lease_expires_at"]),
                        heartbeatAt: Timestamp(milliseconds: row["heartbeat_at"]), host: row["host"], pid: row["pid"],
                        endpoint: row["endpoint"])
                }
            }
        } catch let error as TransferError {
            throw error
        } catch {
            throw TransferError(StoreError(translating: error, operation: "read \(path)"))
        }
        return SQLiteTransferSource(queue: queue, leaderLease: lease, path: path)
    }

    /// Exactly this build's migrations: an older file lacks columns the copy expects, and a newer one may hold
    /// columns this build would silently drop.
    private static func checkSchema(_ db: Database, path: String) throws {
        let migrator = Migrations.migrator
        let applied = try migrator.appliedIdentifiers(db)
        guard !applied.isEmpty, try db.tableExists("job") else {
            throw TransferError(.sourceNotCurrent, "\(path) is not a Baton database (no schema migrations recorded)")
        }
        let known = Set(migrator.migrations)
        let missing = migrator.migrations.filter { !applied.contains($0) }
        guard missing.isEmpty else {
            throw TransferError(
                .sourceNotCurrent,
                "\(path) is at an older schema (missing \(missing.joined(separator: ", "))): run `baton migrate --db sqlite:\(path)` first")
        }
        let unknown = applied.subtracting(known).sorted()
        guard unknown.isEmpty else {
            throw TransferError(
                .sourceNotCurrent,
                "\(path) was migrated by a newer Baton (\(unknown.joined(separator: ", "))): copy it with that version, "
                    + "whose copy knows every column")
        }
    }

    public func rows(of table: TransferTable, after key: [TransferValue]?, limit: Int) async throws(StoreError) -> [[TransferValue]] {
        let columns = table.columns
        let keyNames = columns.prefix(table.keyColumnCount).map(\.name)
        var sql = "SELECT \(columns.map(\.name).joined(separator: ", ")) FROM \(table.rawValue)"
        var arguments = StatementArguments()
        if let key {
            // A row value compares like the primary key orders, column by column.
            sql += " WHERE (\(keyNames.joined(separator: ", "))) > (\(keyNames.map { _ in "?" }.joined(separator: ", ")))"
            arguments = StatementArguments(key.map { Self.databaseValue($0) })
        }
        sql += " ORDER BY \(keyNames.joined(separator: ", ")) LIMIT \(limit)"
        return try fetch(sql, arguments, table: table)
    }

    /// GRDB's synchronous access on the queue's one connection (inside the open read transaction).
    private func fetch(_ sql: String, _ arguments: StatementArguments, table: TransferTable) throws(StoreError) -> [[TransferValue]] {
        let columns = table.columns
        return try StoreError.mapping("read \(table.rawValue)") {
            try queue.inDatabase { db in
                try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                    try columns.enumerated().map { index, column in
                        try Self.transferValue(row[index], column, table: table)
                    }
                }
            }
        }
    }

    /// Ends the read transaction; the file is untouched.
    public func close() {
        try? queue.inDatabase { db in if db.isInsideTransaction { try db.rollback() } }
    }

    private static func transferValue(_ value: DatabaseValue, _ column: TransferTable.Column, table: TransferTable) throws -> TransferValue {
        switch (value.storage, column.kind) {
        case (.null, _): return .null
        case (.int64(let number), .integer): return .integer(number)
        case (.int64(let number), .boolean): return .boolean(number != 0)
        case (.string(let text), .text): return .text(text)
        case (.blob(let data), .blob): return .blob([UInt8](data))
        default:
            // The type only: a value may be a job's secret.
            let found: String =
                switch value.storage {
                case .null: "NULL"
                case .int64: "an integer"
                case .double: "a real"
                case .string: "text"
                case .blob: "a blob"
                }
            throw StoreError(.corrupt, "\(table.rawValue).\(column.name) holds \(found) where \(column.kind) was expected")
        }
    }

    private static func databaseValue(_ value: TransferValue) -> DatabaseValue {
        switch value {
        case .null: .null
        case .integer(let number): number.databaseValue
        case .boolean(let flag): (flag ? 1 : 0).databaseValue
        case .text(let text): text.databaseValue
        case .blob(let bytes): Data(bytes).databaseValue
        }
    }
}
