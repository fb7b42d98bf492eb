import BatonCore

/// What one tick wrote.
public struct TickReport: Sendable {
    /// Newly written pending tickets, for dispatch.
    public var written: [DueTicket] = []
    public var skipped = 0
    public var unrecordedSkips = 0
    /// Slots whose ticket already existed (another writer got there first): the no-op that prevents duplicates.
    public var duplicates = 0
    public var jobsExamined = 0
    /// Tickets written and skipped per job name, for metrics with a job label (`BATON_METRICS_JOB_LABELS`).
    public var byJob: [String: JobTicketCounts] = [:]
    /// Jobs this tick could not plan and parked (each once: a parked job is not looked at again).
    public var parked: [ParkedJob] = []

    public init() {}
}

public struct JobTicketCounts: Sendable, Equatable {
    public var written = 0
    public var skipped = 0
    /// Skipped slots beyond the 100 recorded.
    public var unrecorded = 0

    public init(written: Int = 0, skipped: Int = 0, unrecorded: Int = 0) {
        self.written = written
        self.skipped = skipped
        self.unrecorded = unrecorded
    }

    /// Counts one written ticket: pending ones as written, the rest as skipped.
    package mutating func count(_ state: TicketState) {
        if state == .pending { written += 1 } else { skipped += 1 }
    }
}

/// A job the scheduler parked, or found it can plan again.
public struct ParkedJob: Sendable, Equatable {
    public var id: JobID
    public var name: String
    public var revision: Int64
    /// Why it cannot be planned; empty for a job released from parking.
    public var reason: String

    public init(id: JobID, name: String, revision: Int64, reason: String) {
        self.id = id
        self.name = name
        self.revision = revision
        self.reason = reason
    }
}

/// A ticket ready (or nearly ready) to dispatch.
public struct DueTicket: Sendable, Equatable {
    /// The row key: with `notBefore`, the ticket's place in the due queue.
    public var seq: Int64
    public var id: TicketID
    public var jobID: JobID
    public var slot: Timestamp
    public var epoch: Int64?
    public var queue: String
    public var notBefore: Timestamp

    public init(seq: Int64, id: TicketID, jobID: JobID, slot: Timestamp, epoch: Int64?, queue: String, notBefore: Timestamp) {
        self.seq = seq
        self.id = id
        self.jobID = jobID
        self.slot = slot
        self.epoch = epoch
        self.queue = queue
        self.notBefore = notBefore
    }

    public var position: DueCursor { DueCursor(notBefore: notBefore.milliseconds, seq: seq) }
}

/// A place in the due queue, which is ordered by (`not_before`, `seq`): where a dispatcher's last read stopped.
public struct DueCursor: Sendable, Equatable, Comparable {
    public var notBefore: Int64
    public var seq: Int64

    public init(notBefore: Int64, seq: Int64) {
        self.notBefore = notBefore
        self.seq = seq
    }

    public static func < (lhs: DueCursor, rhs: DueCursor) -> Bool {
        (lhs.notBefore, lhs.seq) < (rhs.notBefore, rhs.seq)
    }
}

/// The leader's writes (every one fenced) and the reads that drive its loops.
public protocol SchedulerStore: Sendable {
    /// Plans and writes tickets for up to `limit` jobs due by `now + lookahead`.
    func tick(_ fence: LeaderFence, now: Timestamp, lookahead: TimeSpan, limit: Int) async throws(StoreError) -> TickReport
    /// Claimable tickets due by `horizon` in queue order (`not_before`, `seq`), starting after `cursor` (nil: from
    /// the head of the queue).
    func dueTickets(by horizon: Timestamp, after cursor: DueCursor?, limit: Int) async throws(StoreError) -> [DueTicket]
    /// The earliest instant anything becomes due: a job's next look, or the `notBefore` of a claimable ticket
    /// that is not yet due at `now` (tickets already due are the dispatcher's business, not a reason to wake).
    func nextWake(after now: Timestamp) async throws(StoreError) -> (jobDueAt: Timestamp?, ticketNotBefore: Timestamp?)
    /// How many jobs are due to be looked at by `instant`, counting at most `cap`.
    func dueJobCount(by instant: Timestamp, cap: Int) async throws(StoreError) -> Int
    /// Running tickets whose claim lease has expired go back to `retrying` (or `failed`), reason `lease_expired`.
    func expireLeases(_ fence: LeaderFence, now: Timestamp, limit: Int) async throws(StoreError) -> [TicketID]
    /// Pending tickets not claimed by their start deadline become `skipped` (misfire).
    func enforceDeadlines(_ fence: LeaderFence, now: Timestamp) async throws(StoreError) -> Int
    /// Running tickets whose cancellation was requested, with the executor holding them.
    func cancellationsRequested() async throws(StoreError) -> [(TicketID, executor: String)]
    /// Looks again at every parked job (a new leader may be a newer build, or have the missing time zone): those it
    /// can plan now are released and due at once; returns them and how many stay parked.
    func releaseParked(_ fence: LeaderFence, now: Timestamp) async throws(StoreError) -> (released: [ParkedJob], stillParked: Int)
    /// Live jobs parked at their current revision.
    func parkedJobCount() async throws(StoreError) -> Int
}

