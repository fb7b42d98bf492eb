import BatonCore
import BatonSQLite
import BatonSQLiteTestSupport
import BatonStore
import BatonTestSupport
import Foundation
import GRDB
import Testing

/// The SQLite side of `baton migrate --from sqlite:PATH --to postgres://…`: what it refuses to read, and that it reads
/// every column, a page at a time, from one snapshot.
@Suite("SQLite: transfer source")
struct TransferSourceTests {
    static let t0 = Timestamp(milliseconds: 1_790_000_000_000)

    func spec(_ name: String) -> JobSpec {
        JobSpec(name: name, schedule: ScheduleSpec(.every(.seconds(10))), action: .noop)
    }

    func refusal(_ path: String) -> TransferError? {
        do {
            _ = try SQLiteTransferSource.open(path: path)
            return nil
        } catch {
            return error
        }
    }

    /// A column added by a later migration and not to `TransferTable.columns` would be left behind silently.
    @Test func theTransferColumnsAreExactlyTheSQLiteColumns() async throws {
        let sqlite = try TemporarySQLite(prefix: "transfer")
        for table in TransferTable.allCases {
            let names = try await sqlite.database.pool.read { db in
                try Row.fetchAll(db, sql: "PRAGMA table_info(\(table.rawValue))").map { $0["name"] as String }
            }
            #expect(Set(names) == Set(table.columns.map(\.name)), "\(table.rawValue)")
        }
    }

    @Test func pagesFollowTheKeyAndComeFromOneSnapshot() async throws {
        let sqlite = try TemporarySQLite(prefix: "transfer")
        let stores = Stores.sqlite(sqlite.database)
        for name in ["a", "b", "c"] { _ = try await stores.jobs.create(spec(name), now: Self.t0) }
        let source = try SQLiteTransferSource.open(path: sqlite.path)
        defer { source.close() }
        // Written after the source opened: not part of what it copies.
        _ = try await stores.jobs.create(spec("late"), now: Self.t0)

        let first = try await source.rows(of: .job, after: nil, limit: 2)
        let rest = try await source.rows(of: .job, after: first.last.map { Array($0.prefix(1)) }, limit: 2)
        #expect((first + rest).map { $0[2] } == [.text("a"), .text("b"), .text("c")])
        #expect((first + rest).allSatisfy { $0.count == TransferTable.job.columns.count })
        // Composite keys page too: the job revisions, (job_id, revision).
        let revision = try await source.rows(of: .jobRevision, after: nil, limit: 1)
        let after = try await source.rows(of: .jobRevision, after: revision.last.map { Array($0.prefix(2)) }, limit: 10)
        #expect(revision.count + after.count == 3)
    }

    @Test func aMissingFileIsRefused() throws {
        let directory = try TemporaryDirectory("transfer")
        defer { directory.remove() }
        #expect(refusal(directory.databasePath)?.code == .sourceMissing)
        #expect(!FileManager.default.fileExists(atPath: directory.databasePath))
    }

    @Test func aFileBehindOrAheadOfThisBuildsSchemaIsRefused() async throws {
        let sqlite = try TemporarySQLite(prefix: "transfer")
        try await sqlite.database.pool.write { db in
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v3-job-parking'")
        }
        let older = try #require(refusal(sqlite.path))
        #expect(older.code == .sourceNotCurrent)
        #expect(older.message.contains("baton migrate --db sqlite:\(sqlite.path)"), "\(older.message)")

        try await sqlite.database.pool.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v3-job-parking'), ('v99-from-the-future')")
        }
        let newer = try #require(refusal(sqlite.path))
        #expect(newer.code == .sourceNotCurrent)
        #expect(newer.message.contains("newer Baton"), "\(newer.message)")
    }

    @Test func aFileThatIsNotBatonsIsRefused() throws {
        let directory = try TemporaryDirectory("transfer")
        defer { directory.remove() }
        let queue = try DatabaseQueue(path: directory.databasePath)
        try queue.write { db in try db.execute(sql: "CREATE TABLE notes (text TEXT)") }
        #expect(refusal(directory.databasePath)?.code == .sourceNotCurrent)
    }
}
