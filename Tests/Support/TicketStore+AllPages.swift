import BatonCore
import BatonStore

extension TicketStore {
    /// Every ticket the filter matches, newest first, following `nextCursor` across pages: what a test compares
    /// with what happened, however many tickets there are.
    public func all(_ filter: TicketFilter) async throws -> [Ticket] {
        var all: [Ticket] = []
        var cursor: String?
        repeat {
            let page = try await list(filter, limit: 1000, cursor: cursor)
            all += page.items
            cursor = page.nextCursor
        } while cursor != nil
        return all
    }
}
