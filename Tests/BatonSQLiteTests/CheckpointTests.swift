import BatonCore
import BatonBench
@testable import BatonSQLite
import BatonStore
import BatonTestSupport
import Foundation
import GRDB
import Testing

@Suite("Store: WAL checkpoints run in the background")
struct CheckpointTests {
    /// Commits checkpoint themselves only past 10,000 WAL pages; below that, only the background checkpointer moves
    /// pages into the database file. So the main file growing after a few thousand pages of writes shows it ran.
    @Test(.timeLimit(.minutes(1)))
    func theDatabaseFileCatchesUpWithoutACommitCheckpointing() async throws {
        let store = try StoreFixture()
        let bench = SQLiteBenchmarkStore(store.database)
        let names = (0..<20).map { "ckpt-\($0)" }
        _ = try await bench.createJobs(
            names.map { StoreFixture.spec($0, policy: JobPolicy(overlap: .allow)) }, now: StoreFixture.t0)
        let before = try fileSize(store.path)
        try await bench.triggerMany(jobNames: names, count: 10_000, batch: 10_000, clock: ManualWallClock(StoreFixture.t0))
        let walPages = try fileSize(store.path + "-wal") / 4096
        #expect(walPages > 1000 && walPages < 10_000, "the writes should fill the WAL without reaching the backstop")
        let caughtUp = await eventually(timeout: .seconds(10)) {
            ((try? fileSize(store.path)) ?? 0) > before + 2_000_000
        }
        #expect(caughtUp)
    }

    /// Writes about `pages` WAL pages in one commit (rows of 4,000 bytes, one page each).
    func fill(_ database: BatonDatabase, pages: Int) async throws {
        try await database.pool.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS filler (b BLOB)")
            for _ in 0..<pages { try db.execute(sql: "INSERT INTO filler VALUES (zeroblob(4000))") }
        }
    }

    /// The checkpointer's interval is an hour here, so only the commit's request can make it run in time.
    @Test(.timeLimit(.minutes(1)))
    func aCommitPastAThousandPagesWakesTheCheckpointerAtOnce() async throws {
        let directory = try TemporaryDirectory("ckpt")
        defer { directory.remove() }
        let path = directory.databasePath
        let database = try BatonDatabase(StoreConfiguration(path: path), checkpointInterval: 3600)
        let before = try fileSize(path)
        try await fill(database, pages: 1_500)
        let walPages = try fileSize(path + "-wal") / 4096
        #expect(walPages >= 1_500 && walPages < Int(WALCheckpointer.backstopFrames), "the commit itself must not checkpoint")
        let caughtUp = await eventually(timeout: .seconds(10)) { ((try? fileSize(path)) ?? 0) > before + 4_000_000 }
        #expect(caughtUp, "the database file should receive the pages long before the hour-long interval")
    }

    /// What history retention waits for before each write: false while checkpoints are held, true once one copied all.
    @Test(.timeLimit(.minutes(1)))
    func waitingUntilTheWALIsCopiedBack() async throws {
        let store = try StoreFixture()
        let checkpointer = store.database.checkpointer
        checkpointer.control.held.withLock { $0 = true }
        try await fill(store.database, pages: 1_200)
        #expect(await checkpointer.waitUntilCopied(timeout: .milliseconds(300)) == false)
        let before = try fileSize(store.path)
        checkpointer.control.held.withLock { $0 = false }
        #expect(await checkpointer.waitUntilCopied(timeout: .seconds(10)))
        #expect(try fileSize(store.path) > before + 4_000_000, "every page written is in the database file now")
    }

    func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }
}
