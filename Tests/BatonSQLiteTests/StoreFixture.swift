import BatonCore
import BatonSQLite
import BatonSQLiteTestSupport
import BatonStore
import Foundation

/// A fresh SQLite file in its own temporary directory (``TemporarySQLite``), with the SQLite stores on it.
final class StoreFixture: Sendable {
    let temporary: TemporarySQLite

    init() throws { temporary = try TemporarySQLite() }

    var database: BatonDatabase { temporary.database }
    var path: String { temporary.path }
    var directory: URL { temporary.directory.url }

    /// Another connection pool on the same file, as a second process would open it.
    func secondConnection() throws -> BatonDatabase { try temporary.secondConnection() }

    var jobs: SQLiteJobStore { SQLiteJobStore(database) }
    var tickets: SQLiteTicketStore { SQLiteTicketStore(database) }
    var claims: SQLiteClaimStore { SQLiteClaimStore(database) }
    var scheduler: SQLiteSchedulerStore { SQLiteSchedulerStore(database) }
    var leases: SQLiteLeaderLeaseStore { SQLiteLeaderLeaseStore(database) }
    var nodes: SQLiteNodeStore { SQLiteNodeStore(database) }

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
