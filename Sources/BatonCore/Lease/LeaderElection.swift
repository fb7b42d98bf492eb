/// The leader-election state machine of one scheduler (CONTRACT §7), pure and clock-generic.
///
/// A lease attempt (acquire or renew) is started at a monotonic instant; when it succeeds the
/// scheduler trusts its leadership until `attemptStartedAt + ttl − safetyMargin` — measured from
/// the *start* of the attempt, so a slow database call never extends the trust window. A leader
/// that cannot renew before that instant steps down on its own, before the lease in the database
/// expires and a standby may take over (River's elector model).
///
/// ```
/// follower ──attempt won──▶ leader ──renewed──▶ leader
///    ▲                        │ lost to another holder / trust expired / shutdown
///    └────────────────────────┘
/// ```
public struct LeaderElection<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public enum Role: Sendable, Equatable {
        case follower
        case leader(epoch: Int64, trustedUntil: Instant)
    }

    public enum Action: Sendable, Equatable {
        case none
        case becameLeader(epoch: Int64)
        case steppedDown(StepDownReason)
        /// Graceful shutdown: release the lease so a standby takes over at once.
        case release(epoch: Int64)
    }

    public enum StepDownReason: String, Sendable, Equatable {
        /// The lease row names another holder or epoch.
        case lostLease = "lost_lease"
        /// Renewals failed until the trust window closed.
        case trustExpired = "trust_expired"
    }

    public let holderID: String
    public let ttl: Duration
    public let safetyMargin: Duration
    public private(set) var role: Role = .follower

    /// - Precondition: `ttl` ≥ 3 s (CONTRACT §9a), so the trust window is at least one second.
    public init(holderID: String, ttl: Duration, safetyMargin: Duration = .seconds(2)) {
        precondition(ttl > safetyMargin, "the lease TTL must exceed the safety margin")
        self.holderID = holderID
        self.ttl = ttl
        self.safetyMargin = safetyMargin
    }

    /// The epoch to renew, or nil to try acquiring.
    public var epoch: Int64? {
        if case .leader(let epoch, _) = role { return epoch }
        return nil
    }

    public var isLeader: Bool { epoch != nil }

    /// The lease row as read back after an attempt that started at `startedAt`.
    public mutating func attemptCompleted(holder: String, epoch: Int64, startedAt: Instant) -> Action {
        let won = holder == holderID
        switch role {
        case .follower:
            guard won else { return .none }
            role = .leader(epoch: epoch, trustedUntil: startedAt.advanced(by: ttl - safetyMargin))
            return .becameLeader(epoch: epoch)
        case .leader(let current, _):
            guard won, epoch == current else {
                role = .follower
                return .steppedDown(.lostLease)
            }
            role = .leader(epoch: epoch, trustedUntil: startedAt.advanced(by: ttl - safetyMargin))
            return .none
        }
    }

    /// The database could not be reached; leadership survives only inside the trust window.
    public mutating func attemptFailed(now: Instant) -> Action {
        guard case .leader(_, let trustedUntil) = role, now >= trustedUntil else { return .none }
        role = .follower
        return .steppedDown(.trustExpired)
    }

    /// Called before acting as leader: leadership ends when the trust window closes, even between attempts.
    public mutating func check(now: Instant) -> Action {
        attemptFailed(now: now)
    }

    public mutating func shutdown() -> Action {
        guard case .leader(let epoch, _) = role else { return .none }
        role = .follower
        return .release(epoch: epoch)
    }

    /// When to attempt next: leaders renew every TTL/5 (CONTRACT §7). Followers look at least once a second
    /// (a look at a held lease writes nothing), so a released lease is taken at once, and also just after the
    /// current lease expires, so a crashed leader is replaced within TTL plus a poll.
    public func delayBeforeNextAttempt(leaseExpiresIn: Duration?) -> Duration {
        let renewal = ttl / 5
        guard !isLeader else { return renewal }
        let poll = min(renewal, .seconds(1))
        guard let leaseExpiresIn else { return poll }
        return max(.milliseconds(5), min(poll, leaseExpiresIn + .milliseconds(5)))
    }

    /// When the elector should look again, given its next attempt (the last attempt's start plus
    /// ``delayBeforeNextAttempt(leaseExpiresIn:)``): at that attempt, or when the trust window closes if that is
    /// sooner, so a leader whose renewals fail steps down on time without renewing more often than TTL/5.
    public func nextWake(nextAttemptAt: Instant) -> Instant {
        guard case .leader(_, let trustedUntil) = role else { return nextAttemptAt }
        return min(nextAttemptAt, trustedUntil)
    }
}
