import BatonCore
import BatonStore
import Hummingbird

/// `/v1/tickets`: history with filters and keyset pagination, one ticket with its attempts, cancel.
struct TicketController<Context: RequestContext> {
    let dependencies: GatewayDependencies

    func addRoutes(to group: RecordingGroup<Context>) {
        group
            .on(.get, use: list)
            .on(.get, ":id", use: get)
            .on(.post, ":id/cancel", use: cancel)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        var query = QueryReader(request)
        let limit = query.integer("limit", default: 100, in: 1...1000)
        var filter = TicketFilter(jobName: query["job"], since: query.timestamp("since"), until: query.timestamp("until"))
        if let state = query["state"] {
            if let value = TicketState(rawValue: state) {
                filter.state = value
            } else {
                query.fail("state", "must be one of \(TicketState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        let cursor = query["cursor"]
        if let cursor, Int64(cursor).map({ $0 > 0 }) != true {
            query.fail("cursor", "is not a cursor this API returned")
        }
        try query.check()
        let page = try await dependencies.tickets.list(filter, limit: limit, cursor: cursor)
        return try JSONBody.response(
            ListResource(items: page.items.map { TicketResource(ticket: $0, includeAttempts: false) }, nextCursor: page.nextCursor))
    }

    @Sendable func get(_ request: Request, context: Context) async throws -> Response {
        guard let ticket = try await dependencies.tickets.ticket(try Self.id(context)) else {
            throw APIError(.notFound, "no such ticket")
        }
        return try JSONBody.response(TicketResource(ticket: ticket, includeAttempts: true))
    }

    /// Pending and retrying tickets are cancelled at once; a running one is asked to stop (the executor sees it
    /// at its next heartbeat). A finished ticket is 409.
    @Sendable func cancel(_ request: Request, context: Context) async throws -> Response {
        let ticket = try await dependencies.tickets.cancel(try Self.id(context), now: dependencies.clock.now())
        context.logger.info("ticket cancel requested", metadata: ["ticket": "\(ticket.id)", "job": "\(ticket.jobName)"])
        return try JSONBody.response(TicketResource(ticket: ticket, includeAttempts: true))
    }

    static func id(_ context: Context) throws(APIError) -> TicketID {
        guard let text = context.parameters.get("id"), let id = TicketID(hex: text) else {
            throw APIError(.notFound, "no such ticket (ids are 64 hex digits)")
        }
        return id
    }
}
