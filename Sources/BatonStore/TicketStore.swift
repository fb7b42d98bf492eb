import BatonCore

/// Filters for the ticket history (`GET /v1/tickets`).
public struct TicketFilter: Sendable, Equatable {
    public var jobName: String?
    public var state: TicketState?
    public var since: Timestamp?
    public var until: Timestamp?

    public init(jobName: String? = nil, state: TicketState? = nil, since: Timestamp? = nil, until: Timestamp? = nil) {
        self.jobName = jobName
        self.state = state
        self.since = since
        self.until = until
    }
}

/// Tickets as the gateway sees them: manual triggers, history, cancellation.
public protocol TicketStore: Sendable {
    /// Writes a manual ticket (epoch nil) in the same transaction that checks the job exists.
    /// The same idempotency key returns the same ticket with `created == false`.
    func trigger(jobName: String, idempotencyKey: String?, now: Timestamp) async throws(StoreError) -> (ticket: Ticket, created: Bool)
    func ticket(_ id: TicketID) async throws(StoreError) -> Ticket?
    /// Newest first, keyset-paginated.
    func list(_ filter: TicketFilter, limit: Int, cursor: String?) async throws(StoreError) -> Page<Ticket>
    /// Pending and retrying tickets are cancelled; a running one is asked to stop.
    func cancel(_ id: TicketID, now: Timestamp) async throws(StoreError) -> Ticket
}

