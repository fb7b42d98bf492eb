import BatonCore
import Foundation
import GRDB
import Testing

@testable import BatonSQLite
@testable import BatonStore

/// Issue 13 item 6: a store error says what the caller can do. Real SQLite errors, raised on a real file.
@Suite("SQLite errors, classified by what the caller can do")
struct ErrorClassificationTests {
    func translate(_ body: @Sendable (Database) throws -> Void) async -> StoreError? {
        let store = try? StoreFixture()
        guard let store else { return nil }
        do {
            try await store.database.pool.write { db in try body(db) }
            return nil
        } catch {
            return StoreError(translating: error, operation: "test")
        }
    }

    @Test func aConstraintViolationIsAConflict() async throws {
        let error = await translate { db in
            try db.execute(sql: "CREATE TABLE t (k TEXT PRIMARY KEY)")
            try db.execute(sql: "INSERT INTO t VALUES ('a')")
            try db.execute(sql: "INSERT INTO t VALUES ('a')")
        }
        #expect(error?.code == .conflict)
    }

    @Test func anUnexpectedSQLiteErrorIsInternalNotUnavailable() async throws {
        let error = await translate { db in try db.execute(sql: "SELECT * FROM no_such_table") }
        #expect(error?.code == .internal)
    }

    @Test func cancellationIsNotCorruption() async throws {
        #expect(StoreError(translating: CancellationError(), operation: "test").code == .cancelled)
    }

    @Test func anErrorFromOutsideSQLiteIsInternal() async throws {
        struct Unexpected: Error {}
        #expect(StoreError(translating: Unexpected(), operation: "test").code == .internal)
    }

    @Test func aDamagedFileIsCorruptAndABusyOneUnavailable() async throws {
        #expect(StoreError(translating: DatabaseError(resultCode: .SQLITE_CORRUPT), operation: "test").code == .corrupt)
        #expect(StoreError(translating: DatabaseError(resultCode: .SQLITE_BUSY), operation: "test").code == .unavailable)
        #expect(StoreError(translating: DatabaseError(resultCode: .SQLITE_IOERR), operation: "test").code == .unavailable)
    }
}
