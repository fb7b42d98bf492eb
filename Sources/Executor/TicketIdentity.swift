import BatonCore
import BatonStore

/// What every attempt is told about itself (CONTRACT §4): the same idempotency key for every attempt of a ticket.
public struct TicketIdentity: Sendable, Equatable {
    public var ticket: TicketID
    public var attempt: Int
    public var jobName: String
    public var slot: Timestamp

    public init(ticket: TicketID, attempt: Int, jobName: String, slot: Timestamp) {
        self.ticket = ticket
        self.attempt = attempt
        self.jobName = jobName
        self.slot = slot
    }

    public init(_ claim: ClaimedTicket) {
        self.init(ticket: claim.id, attempt: claim.attempt, jobName: claim.jobName, slot: claim.slot)
    }

    /// `Idempotency-Key`, `Baton-Ticket`, `Baton-Attempt`, `Baton-Job`, `Baton-Scheduled-At`.
    public var httpHeaders: [String: String] {
        [
            "Idempotency-Key": ticket.hex, "Baton-Ticket": ticket.hex, "Baton-Attempt": String(attempt),
            "Baton-Job": jobName, "Baton-Scheduled-At": slot.description,
        ]
    }

    /// `BATON_TICKET`, `BATON_IDEMPOTENCY_KEY`, `BATON_ATTEMPT`, `BATON_JOB`, `BATON_SCHEDULED_AT`.
    public var environment: [String: String] {
        [
            "BATON_TICKET": ticket.hex, "BATON_IDEMPOTENCY_KEY": ticket.hex, "BATON_ATTEMPT": String(attempt),
            "BATON_JOB": jobName, "BATON_SCHEDULED_AT": slot.description,
        ]
    }
}

/// The last (or first) bytes of an action's output: attempts store at most 4 KiB (CONTRACT §9).
enum OutputLimit {
    static let bytes = 4096

    static func text(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
