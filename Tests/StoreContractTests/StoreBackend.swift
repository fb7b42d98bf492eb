import BatonCore
import BatonStore
import Testing

/// One backend the contract suite runs against. Every test takes one (`@Test(arguments: StoreBackend.all)`), so a new
/// backend joins the suite by adding itself to ``all``, and is done when it passes the same tests.
struct StoreBackend: Sendable, CustomTestStringConvertible {
    let name: String
    /// A fresh, empty, ready database and the stores on it.
    let open: @Sendable () async throws -> StoreFixture
    /// Overwrites the stored spec of a job's current revision with `json`, as a newer build (or a damaged file) would
    /// leave it. No protocol method can write a spec this build cannot read, so each backend says how.
    let storeRawSpec: @Sendable (_ fixture: StoreFixture, _ job: Job, _ json: String) async throws -> Void

    var testDescription: String { name }

    static let all: [StoreBackend] = [.sqlite, .postgres]
}

/// One backend's stores on a fresh database. Released with the test, which removes the database.
final class StoreFixture: Sendable {
    let stores: Stores
    private let connectAgain: @Sendable () throws -> Stores
    /// Whatever owns the database (a temporary file, a throw-away schema): kept alive as long as the stores are.
    let owner: any Sendable

    init(stores: Stores, owner: any Sendable, connect: @escaping @Sendable () throws -> Stores) {
        self.stores = stores
        self.owner = owner
        self.connectAgain = connect
    }

    /// Another, independent set of stores on the same database, as a second process would open it.
    func connect() throws -> Stores { try connectAgain() }

    var jobs: any JobStore { stores.jobs }
    var tickets: any TicketStore { stores.tickets }
    var claims: any ClaimStore { stores.claims }
    var scheduler: any SchedulerStore { stores.scheduler }
    var leases: any LeaderLeaseStore { stores.leases }
    var nodes: any NodeStore { stores.nodes }
    var retention: any RetentionStore { stores.retention }
    var health: any StoreHealth { stores.health }

    static let t0 = Timestamp(milliseconds: 1_790_000_000_000)

    static func spec(_ name: String, every: TimeSpan = .seconds(1), policy: JobPolicy = JobPolicy()) -> JobSpec {
        JobSpec(name: name, schedule: ScheduleSpec(.every(every)), action: .noop, policy: policy)
    }

    static func identity(_ id: String) -> SchedulerIdentity {
        SchedulerIdentity(id: id, host: "test", pid: 1, endpoint: "tcp://127.0.0.1:0")
    }

    /// Takes the leader lease for `holder` and returns its fence.
    func lead(_ holder: String = "scheduler-a", now: Timestamp = StoreFixture.t0, ttl: TimeSpan = .seconds(10)) async throws -> LeaderFence {
        let lease = try await leases.acquireOrRenew(Self.identity(holder), epoch: nil, now: now, ttl: ttl)
        return LeaderFence(holder: lease.holder, epoch: lease.epoch)
    }

    /// Every ticket of `job`, newest first.
    func history(_ job: String) async throws -> [Ticket] {
        try await tickets.list(TicketFilter(jobName: job), limit: 1000, cursor: nil).items
    }
}
