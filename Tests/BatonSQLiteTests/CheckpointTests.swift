import BatonCore
import BatonBench
import BatonSQLite
import BatonStore
import BatonTestSupport
import Foundation
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

    func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }
}
