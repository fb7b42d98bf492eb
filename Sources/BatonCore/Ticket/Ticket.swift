/// A ticket as stored and shown: one run of one job for one slot (CONTRACT §6, §9).
public struct Ticket: Sendable, Equatable {
    public var id: TicketID
    public var jobID: JobID
    public var jobName: String
    public var revision: Int64
    /// The nominal slot; for a manual ticket, the trigger time.
    public var slot: Timestamp
    public var state: TicketState
    public var reason: TicketReason?
    public var detail: String?
    /// The leader epoch that wrote it; nil for manual triggers.
    public var epoch: Int64?
    public var attempt: Int
    public var maxAttempts: Int
    public var notBefore: Timestamp
    public var createdAt: Timestamp
    public var startedAt: Timestamp?
    public var finishedAt: Timestamp?
    public var executor: String?
    public var manual: Bool
    public var attempts: [Attempt]?

    public init(
        id: TicketID, jobID: JobID, jobName: String, revision: Int64, slot: Timestamp, state: TicketState,
        reason: TicketReason? = nil, detail: String? = nil, epoch: Int64?, attempt: Int = 0, maxAttempts: Int,
        notBefore: Timestamp, createdAt: Timestamp, startedAt: Timestamp? = nil, finishedAt: Timestamp? = nil,
        executor: String? = nil, manual: Bool, attempts: [Attempt]? = nil
    ) {
        self.id = id
        self.jobID = jobID
        self.jobName = jobName
        self.revision = revision
        self.slot = slot
        self.state = state
        self.reason = reason
        self.detail = detail
        self.epoch = epoch
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.notBefore = notBefore
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.executor = executor
        self.manual = manual
        self.attempts = attempts
    }
}

/// One claim of a ticket by one executor, and how it ended.
public struct Attempt: Sendable, Equatable {
    public var number: Int
    public var executor: String
    public var startedAt: Timestamp
    public var finishedAt: Timestamp?
    public var outcome: AttemptOutcome?
    /// HTTP status or process exit status.
    public var status: Int?
    /// The first 4 KiB of an HTTP body, or the last 4 KiB of a command's output.
    public var output: String?

    public init(
        number: Int, executor: String, startedAt: Timestamp, finishedAt: Timestamp? = nil, outcome: AttemptOutcome? = nil,
        status: Int? = nil, output: String? = nil
    ) {
        self.number = number
        self.executor = executor
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.status = status
        self.output = output
    }
}

/// The secret an executor gets when its claim wins; only this token extends or completes the attempt.
public struct ClaimToken: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// 16 bytes from the system's cryptographic generator.
    public static func random() -> ClaimToken {
        // Two 64-bit draws rather than sixteen byte draws: the same generator, an eighth of the calls into it.
        var generator = SystemRandomNumberGenerator()
        let (high, low) = (generator.next() as UInt64, generator.next() as UInt64)
        return ClaimToken(bytes: (0..<16).map { UInt8(truncatingIfNeeded: ($0 < 8 ? high : low) >> (UInt64($0 % 8) * 8)) })
    }

    public var description: String { bytes.prefix(4).map { String($0, radix: 16) }.joined() + "…" }
}
