import BatonCore

/// Proof of leadership that every scheduler write carries: the holder id and its epoch.
public struct LeaderFence: Sendable, Equatable, CustomStringConvertible {
    public var holder: String
    public var epoch: Int64

    public init(holder: String, epoch: Int64) {
        self.holder = holder
        self.epoch = epoch
    }

    public var description: String { "\(holder)@\(epoch)" }
}

/// Who holds the lease now.
public struct LeaderLease: Sendable, Equatable {
    public var holder: String
    public var epoch: Int64
    public var leaseExpiresAt: Timestamp
    public var heartbeatAt: Timestamp
    public var host: String
    public var pid: Int
    public var endpoint: String

    public init(
        holder: String, epoch: Int64, leaseExpiresAt: Timestamp, heartbeatAt: Timestamp, host: String, pid: Int, endpoint: String
    ) {
        self.holder = holder
        self.epoch = epoch
        self.leaseExpiresAt = leaseExpiresAt
        self.heartbeatAt = heartbeatAt
        self.host = host
        self.pid = pid
        self.endpoint = endpoint
    }
}

/// Identity a scheduler registers under.
public struct SchedulerIdentity: Sendable, Equatable {
    public var id: String
    public var host: String
    public var pid: Int
    public var endpoint: String

    public init(id: String, host: String, pid: Int, endpoint: String) {
        self.id = id
        self.host = host
        self.pid = pid
        self.endpoint = endpoint
    }
}

/// The single-row leader lease (CONTRACT §7).
public protocol LeaderLeaseStore: Sendable {
    /// Renews the lease if `me` holds it at `epoch`, or takes it with `epoch + 1` if it has expired.
    /// Returns the lease as it stands after the attempt; the caller leads iff `holder == me.id`.
    func acquireOrRenew(_ me: SchedulerIdentity, epoch: Int64?, now: Timestamp, ttl: TimeSpan) async throws(StoreError) -> LeaderLease
    /// Graceful hand-over: expires the lease at once (keeping the epoch) so a standby takes over immediately.
    func release(_ fence: LeaderFence, now: Timestamp) async throws(StoreError)
    func current() async throws(StoreError) -> LeaderLease?
}

