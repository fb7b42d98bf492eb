import BatonCore

/// The executor's side of the ticket state machine: claim, heartbeat, complete, hand back.
/// Every call is batched, one transaction per batch, to keep each write lock short.
public protocol ClaimStore: Sendable {
    func claim(_ ids: [TicketID], executor: String, now: Timestamp, leaseTTL: TimeSpan) async throws(StoreError) -> [ClaimedTicket]
    func heartbeat(_ claims: [(TicketID, ClaimToken)], now: Timestamp, leaseTTL: TimeSpan) async throws(StoreError) -> [TicketID: HeartbeatResult]
    /// Returns, per ticket, whether the completion was accepted (false: fenced, the token no longer matches).
    func complete(_ completions: [Completion], now: Timestamp) async throws(StoreError) -> [TicketID: Bool]
    /// Both in one transaction, completions first: what an executor has ready to write at one moment. A ticket
    /// whose job revision cannot be read fails alone (`unreadable`); the rest of the batch is claimed as usual.
    func completeAndClaim(
        _ completions: [Completion], claim ids: [TicketID], executor: String, now: Timestamp, leaseTTL: TimeSpan
    ) async throws(StoreError) -> (accepted: [TicketID: Bool], won: [ClaimedTicket], unreadable: [UnreadableClaim])
}


extension ClaimStore {
    /// A claim alone is a batch with no completions: one transaction, the same conditional write.
    public func claim(_ ids: [TicketID], executor: String, now: Timestamp, leaseTTL: TimeSpan) async throws(StoreError) -> [ClaimedTicket] {
        guard !ids.isEmpty else { return [] }
        return try await completeAndClaim([], claim: ids, executor: executor, now: now, leaseTTL: leaseTTL).won
    }
}
