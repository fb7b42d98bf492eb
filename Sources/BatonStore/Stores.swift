import BatonCore

/// Whether the store can serve this build: `GET /ready` and the metrics endpoint's readiness ask it.
public protocol StoreHealth: Sendable {
    /// Readiness (CONTRACT §9a): the store answers and every schema change this build needs is applied.
    /// Changes made by a newer build are tolerated.
    func isReady() async -> Bool
}

/// One backend's stores, built by the composition root (the `baton` executable) and handed to the roles, which
/// see only these protocols. Every member works on the same database, so a write through one is read by the others.
public struct Stores: Sendable {
    public var jobs: any JobStore
    public var tickets: any TicketStore
    public var claims: any ClaimStore
    public var scheduler: any SchedulerStore
    public var leases: any LeaderLeaseStore
    public var nodes: any NodeStore
    public var retention: any RetentionStore
    public var health: any StoreHealth
    /// The clock every role judges time by on this backend: lease and claim expiry are compared in the database
    /// with `now` from here, so all hosts sharing a database must agree on it. SQLite (one host): the system clock;
    /// PostgreSQL: the system clock corrected to the database server's (`DatabaseClock`).
    public var clock: any WallClock

    public init(
        jobs: any JobStore, tickets: any TicketStore, claims: any ClaimStore, scheduler: any SchedulerStore,
        leases: any LeaderLeaseStore, nodes: any NodeStore, retention: any RetentionStore, health: any StoreHealth,
        clock: any WallClock = SystemWallClock()
    ) {
        self.jobs = jobs
        self.tickets = tickets
        self.claims = claims
        self.scheduler = scheduler
        self.leases = leases
        self.nodes = nodes
        self.retention = retention
        self.health = health
        self.clock = clock
    }
}
