import BatonCore
import BatonStore
import Foundation

/// A fresh SQLite file in its own temporary directory, removed when the fixture is released.
final class StoreFixture: Sendable {
    let directory: URL
    let database: BatonDatabase

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        database = try BatonDatabase(StoreConfiguration(path: directory.appendingPathComponent("baton.sqlite").path))
        try database.migrate()
    }

    var path: String { database.configuration.path }

    /// Another connection pool on the same file, as a second process would open it.
    func secondConnection() throws -> BatonDatabase {
        let other = try BatonDatabase(StoreConfiguration(path: path))
        try other.migrate()
        return other
    }

    var jobs: SQLiteJobStore { SQLiteJobStore(database) }
    var tickets: SQLiteTicketStore { SQLiteTicketStore(database) }
    var claims: SQLiteClaimStore { SQLiteClaimStore(database) }
    var scheduler: SQLiteSchedulerStore { SQLiteSchedulerStore(database) }
    var leases: SQLiteLeaderLeaseStore { SQLiteLeaderLeaseStore(database) }
    var nodes: SQLiteNodeStore { SQLiteNodeStore(database) }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    static let t0 = Timestamp(milliseconds: 1_790_000_000_000)

    static func spec(_ name: String, every: TimeSpan = .seconds(1), policy: JobPolicy = JobPolicy()) -> JobSpec {
        JobSpec(name: name, schedule: ScheduleSpec(.every(every)), action: .noop, policy: policy)
    }

    /// Takes the leader lease for `holder` and returns its fence.
    func lead(_ holder: String = "scheduler-a", now: Timestamp = StoreFixture.t0, ttl: TimeSpan = .seconds(10)) async throws -> LeaderFence {
        let me = SchedulerIdentity(id: holder, host: "test", pid: 1, endpoint: "tcp://127.0.0.1:0")
        let lease = try await leases.acquireOrRenew(me, epoch: nil, now: now, ttl: ttl)
        return LeaderFence(holder: lease.holder, epoch: lease.epoch)
    }
}
