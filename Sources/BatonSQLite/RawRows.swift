import BatonCore
import GRDB
import GRDBSQLite

/// Steps a prepared GRDB statement through SQLite's C API and reads columns by position.
///
/// Why: the leader's due-ticket read and the executors' claims run thousands of times a second, and GRDB's
/// generic `row[index]` decoding spent most of their time looking up generic metadata (a tenth of the leader's
/// CPU in a profile). Arguments are still bound by GRDB (`setArguments` validates them); only stepping and
/// column reads are direct. Use it only for statements whose column types the schema fixes.
struct RawRow {
    let handle: OpaquePointer

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func optionalInt64(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    func bool(_ column: Int32) -> Bool { sqlite3_column_int64(handle, column) != 0 }

    func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// A 32-byte BLOB as a ticket id; nil for anything else.
    func ticketID(_ column: Int32) -> TicketID? {
        guard sqlite3_column_type(handle, column) == SQLITE_BLOB, let blob = sqlite3_column_blob(handle, column) else {
            return nil
        }
        return TicketID(UnsafeRawBufferPointer(start: blob, count: Int(sqlite3_column_bytes(handle, column))))
    }
}

extension Statement {
    /// Binds `arguments`, then calls `body` for each result row. The row is valid only during the call.
    func forEachRawRow(_ arguments: StatementArguments, _ body: (RawRow) throws -> Void) throws {
        try setArguments(arguments)
        let handle = sqliteStatement
        defer { sqlite3_reset(handle) }
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else {
                let message = sqlite3_db_handle(handle).map { String(cString: sqlite3_errmsg($0)) }
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
            }
            try body(RawRow(handle: handle))
        }
    }
}
