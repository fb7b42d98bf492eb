/// The values an executor exchanges with the claim store: pure, so the executor's state machine
/// (`ClaimStateMachine`) speaks them without importing a store module.

/// A won claim: everything an executor needs to run the attempt.
public struct ClaimedTicket: Sendable, Equatable {
    public var id: TicketID
    public var jobID: JobID
    public var jobName: String
    public var revision: Int64
    public var slot: Timestamp
    /// When the ticket became claimable (slot + jitter, or the retry time): the start of due → claimed.
    public var notBefore: Timestamp
    public var manual: Bool
    /// This attempt's number, from 1.
    public var attempt: Int
    public var maxAttempts: Int
    public var token: ClaimToken
    public var leaseExpiresAt: Timestamp
    /// The job as it was at the ticket's revision: every attempt runs the same action (CONTRACT §9a).
    public var spec: JobSpec

    public init(
        id: TicketID, jobID: JobID, jobName: String, revision: Int64, slot: Timestamp, notBefore: Timestamp? = nil,
        manual: Bool, attempt: Int, maxAttempts: Int, token: ClaimToken, leaseExpiresAt: Timestamp, spec: JobSpec
    ) {
        self.id = id
        self.jobID = jobID
        self.jobName = jobName
        self.revision = revision
        self.slot = slot
        self.notBefore = notBefore ?? slot
        self.manual = manual
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.token = token
        self.leaseExpiresAt = leaseExpiresAt
        self.spec = spec
    }
}

/// A claim won on a ticket whose job revision this build cannot read: the store has already failed the ticket
/// (reason `spec_unreadable`); the executor only logs it.
public struct UnreadableClaim: Sendable, Equatable {
    public var id: TicketID
    public var jobName: String
    public var revision: Int64
    public var reason: String

    public init(id: TicketID, jobName: String, revision: Int64, reason: String) {
        self.id = id
        self.jobName = jobName
        self.revision = revision
        self.reason = reason
    }
}

/// How an executor reports the end of an attempt.
public struct Completion: Sendable, Equatable {
    public var id: TicketID
    public var token: ClaimToken
    public var outcome: AttemptOutcome
    public var status: Int?
    /// The action's output excerpt, with every NUL as U+FFFD: a command may print anything, and neither backend
    /// stores NUL in text (PostgreSQL refuses it, SQLite's text functions stop at it).
    public var output: String? {
        didSet { output = output.map(Self.storable) }
    }
    public var retry: RetryPolicy
    /// A failure no retry can fix: the ticket fails at once with this reason (see ``AttemptResolution``).
    public var finalReason: TicketReason?
    /// The job's name, for metrics with a job label; not written.
    public var job: String?

    public init(
        id: TicketID, token: ClaimToken, outcome: AttemptOutcome, status: Int? = nil, output: String? = nil, retry: RetryPolicy,
        finalReason: TicketReason? = nil, job: String? = nil
    ) {
        self.job = job
        self.id = id
        self.token = token
        self.outcome = outcome
        self.status = status
        self.output = output.map(Self.storable)
        self.retry = retry
        self.finalReason = finalReason
    }

    /// `text` with each NUL replaced by U+FFFD, the replacement character.
    static func storable(_ text: String) -> String {
        text.utf8.contains(0) ? String(text.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : Character($0) }) : text
    }

    /// What is written: the job name rides along for metrics only, so two completions that write the same thing
    /// are equal whether or not it was filled in.
    public static func == (lhs: Completion, rhs: Completion) -> Bool {
        lhs.id == rhs.id && lhs.token == rhs.token && lhs.outcome == rhs.outcome && lhs.status == rhs.status
            && lhs.output == rhs.output && lhs.retry == rhs.retry && lhs.finalReason == rhs.finalReason
    }
}

public enum HeartbeatResult: Sendable, Equatable {
    /// The lease now runs to the given time; `cancelRequested` asks the executor to stop the action.
    case extended(until: Timestamp, cancelRequested: Bool)
    /// The claim token no longer matches: another executor owns the ticket, or it was finished. Stop and report nothing.
    case lost
}
