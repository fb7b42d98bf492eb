/// Where a ticket is in its life (CONTRACT §6). The operations that move it, and between which states, are
/// ``TicketTransition``; the sets below are the preconditions those operations share.
public enum TicketState: String, Sendable, Codable, CaseIterable {
    /// Written by the leader (or the gateway for a manual trigger); due at `notBefore`.
    case pending
    /// Claimed by one executor, whose claim token alone may finish it.
    case running
    /// An attempt failed or its lease expired; due again at `notBefore`.
    case retrying
    case succeeded
    case failed
    case cancelled
    /// A slot that was deliberately not run; `reason` says why.
    case skipped

    /// Waiting for an executor: what a claim takes and a cancel ends at once.
    public static let claimable: Set<TicketState> = [.pending, .retrying]
    /// Not yet final: what blocks a serialized (overlap forbid) ticket and what a job's deletion cancels.
    public static let unfinished: Set<TicketState> = [.pending, .running, .retrying]
    /// Nothing moves a ticket out of these; retention alone deletes it.
    public static let final: Set<TicketState> = [.succeeded, .failed, .cancelled, .skipped]

    public var isFinal: Bool { Self.final.contains(self) }

    /// States a claim may take a ticket from.
    public var isClaimable: Bool { Self.claimable.contains(self) }
}

/// Machine-readable reason codes recorded on tickets (CONTRACT §4, §6, §9a).
public enum TicketReason: String, Sendable, Codable, CaseIterable {
    case overlap
    case misfire
    case catchupLimit = "catchup_limit"
    case leaseExpired = "lease_expired"
    case commandsDisabled = "commands_disabled"
    case timeout
    case actionFailed = "action_failed"
    case cancelled
    case replaced
    case jobDeleted = "job_deleted"
    case handedBack = "handed_back"
    /// The executor that claimed it could not read the job revision the ticket pins (corrupt, or written by a newer
    /// Baton in a form this build cannot represent); `detail` says what. Failed at once: retrying cannot help.
    case specUnreadable = "spec_unreadable"
}

/// How one attempt ended.
public enum AttemptOutcome: String, Sendable, Codable, CaseIterable {
    case succeeded
    case failed
    case timedOut = "timed_out"
    case cancelled
    case leaseExpired = "lease_expired"
    case handedBack = "handed_back"
}

/// The pure rule for where a ticket goes after an attempt ends, shared by the executor
/// (completion) and the scheduler's lease sweeper (expiry).
public struct AttemptResolution: Sendable, Equatable {
    public var state: TicketState
    public var notBefore: Timestamp?
    public var reason: TicketReason?

    public init(state: TicketState, notBefore: Timestamp?, reason: TicketReason?) {
        self.state = state
        self.notBefore = notBefore
        self.reason = reason
    }

    /// - Parameters:
    ///   - attempt: the attempt that just ended (1-based).
    ///   - finalReason: the attempt failed in a way no retry can fix (`commands_disabled`: CONTRACT §4 fails such a
    ///     ticket once); a failure then ends the ticket with this reason, whatever attempts are left.
    ///   - cancelRequested: someone asked to cancel the running ticket (CONTRACT §5). Whatever ended the attempt
    ///     short of success (the stop itself, a failure, a timeout, a hand-back at shutdown) then ends the ticket as
    ///     cancelled: no retry of a ticket its owner asked to stop. A success that raced the request stands.
    public static func after(
        outcome: AttemptOutcome, attempt: Int, retry: RetryPolicy, now: Timestamp, finalReason: TicketReason? = nil,
        cancelRequested: Bool = false
    ) -> AttemptResolution {
        let outcome = cancelRequested && outcome != .succeeded ? AttemptOutcome.cancelled : outcome
        switch outcome {
        case .succeeded:
            return AttemptResolution(state: .succeeded, notBefore: nil, reason: nil)
        case .cancelled:
            return AttemptResolution(state: .cancelled, notBefore: nil, reason: .cancelled)
        case .handedBack:
            return AttemptResolution(state: .pending, notBefore: now, reason: .handedBack)
        case .failed, .timedOut, .leaseExpired:
            let reason: TicketReason =
                switch outcome {
                case .timedOut: .timeout
                case .leaseExpired: .leaseExpired
                default: .actionFailed
                }
            if outcome == .failed, let finalReason {
                return AttemptResolution(state: .failed, notBefore: nil, reason: finalReason)
            }
            guard attempt < retry.maxAttempts else {
                return AttemptResolution(state: .failed, notBefore: nil, reason: reason)
            }
            // An expired lease is retried at once: the attempt never reported, so there is nothing to back off from.
            let delay = outcome == .leaseExpired ? .zero : retry.delay(beforeAttempt: attempt + 1)
            return AttemptResolution(state: .retrying, notBefore: now + delay, reason: reason)
        }
    }
}
