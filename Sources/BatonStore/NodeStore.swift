import BatonCore

/// A live (or recently live) executor, as `GET /v1/executors` shows it.
public struct ExecutorNode: Sendable, Equatable {
    public var id: String
    public var host: String
    public var pid: Int
    public var capacity: Int
    public var inFlight: Int
    public var queues: [String]
    public var version: String
    public var startedAt: Timestamp
    public var lastSeen: Timestamp

    public init(
        id: String, host: String, pid: Int, capacity: Int, inFlight: Int, queues: [String], version: String,
        startedAt: Timestamp, lastSeen: Timestamp
    ) {
        self.id = id
        self.host = host
        self.pid = pid
        self.capacity = capacity
        self.inFlight = inFlight
        self.queues = queues
        self.version = version
        self.startedAt = startedAt
        self.lastSeen = lastSeen
    }
}

/// A scheduler process, leader or standby.
public struct SchedulerNode: Sendable, Equatable {
    public var id: String
    public var host: String
    public var pid: Int
    public var endpoint: String
    public var startedAt: Timestamp
    public var lastSeen: Timestamp
    public var tickLagMs: Int?

    public init(id: String, host: String, pid: Int, endpoint: String, startedAt: Timestamp, lastSeen: Timestamp, tickLagMs: Int?) {
        self.id = id
        self.host = host
        self.pid = pid
        self.endpoint = endpoint
        self.startedAt = startedAt
        self.lastSeen = lastSeen
        self.tickLagMs = tickLagMs
    }
}

/// Registration and heartbeats of schedulers and executors, which is how the API finds them.
public protocol NodeStore: Sendable {
    func heartbeat(executor: ExecutorNode) async throws(StoreError)
    func heartbeat(scheduler: SchedulerIdentity, startedAt: Timestamp, now: Timestamp, tickLagMs: Int?) async throws(StoreError)
    func remove(executor id: String) async throws(StoreError)
    func remove(scheduler id: String) async throws(StoreError)
    /// Executors and schedulers seen since `since`.
    func executors(seenSince since: Timestamp) async throws(StoreError) -> [ExecutorNode]
    /// One page of the executors seen since `since`, by id, starting after the id `cursor`.
    func executors(seenSince since: Timestamp, limit: Int, after cursor: String?) async throws(StoreError) -> Page<ExecutorNode>
    func schedulers(seenSince since: Timestamp) async throws(StoreError) -> [SchedulerNode]
    /// Forgets nodes not seen since `cutoff`.
    func forget(notSeenSince cutoff: Timestamp) async throws(StoreError) -> Int
}

