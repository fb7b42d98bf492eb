import BatonCore
import BatonStore
import Foundation
import PostgresNIO

public struct PostgresTicketStore: TicketStore {
    let database: PostgresDatabase

    init(_ database: PostgresDatabase) { self.database = database }

    public func trigger(jobName: String, idempotencyKey: String?, now: Timestamp) async throws(StoreError) -> (ticket: Ticket, created: Bool) {
        // Chosen once, outside the transaction: a retried transaction must write the same ticket, not a second one.
        let key = idempotencyKey ?? UUID().uuidString.lowercased()
        let logger = database.logger
        return try await database.transaction("trigger") { connection in
            // Locked: triggers of one job, and its tick, write its tickets one at a time, so a second trigger with the
            // same key waits here and then finds the first one's key.
            guard let job = try await PostgresJobRows.live(connection, name: jobName, lock: true, specs: database.caches.specs, logger: logger) else {
                throw StoreError(.notFound, "no job named \"\(jobName)\"")
            }
            let known = try await connection.query(
                "SELECT ticket_id FROM idempotency_key WHERE job_id = \(job.id.rawValue) AND key = \(key)", logger: logger
            ).rows()
            if let row = known.first {
                guard let id = PostgresCodec.ticketID(try row.value("ticket_id", ByteBuffer.self)),
                    let ticket = try await PostgresTicketRows.ticket(connection, id: id, logger: logger)
                else {
                    throw StoreError(.conflict, "Idempotency-Key \"\(key)\" was used for a ticket that has been purged")
                }
                return (ticket, false)
            }
            // After the replay above: a key already answered keeps its answer.
            try job.requireReadableSpec(for: "triggered")
            let new = NewTicketRow(manual: job, idempotencyKey: key, now: now)
            let inserted = try await PostgresTicketRows.insert(connection, new, now: now, logger: logger)
            try await connection.query(
                """
                INSERT INTO idempotency_key (job_id, key, ticket_id, created_at)
                VALUES (\(job.id.rawValue), \(key), \(PostgresCodec.bytes(new.id)), \(now.milliseconds))
                ON CONFLICT DO NOTHING
                """, logger: logger)
            guard let row = inserted else {
                // The ticket outlived its key's record: answer with the ticket as it is, not a second one.
                guard let existing = try await PostgresTicketRows.ticket(connection, id: new.id, logger: logger) else {
                    throw StoreError(.corrupt, "manual ticket \(new.id) is neither new nor stored")
                }
                return (existing, false)
            }
            try await connection.query(
                "UPDATE job SET last_ticket = \(PostgresCodec.bytes(new.id)) WHERE id = \(job.id.rawValue)", logger: logger)
            var ticket = try PostgresTicketRows.ticket(row)
            ticket.attempts = []  // none yet, and known without a query
            return (ticket, true)
        }
    }

    public func ticket(_ id: TicketID) async throws(StoreError) -> Ticket? {
        try await database.read("get ticket") { connection in
            try await PostgresTicketRows.ticket(connection, id: id, logger: database.logger)
        }
    }

    public func list(_ filter: TicketFilter, limit: Int, cursor: String?) async throws(StoreError) -> Page<Ticket> {
        let query = try Self.listQuery(filter, limit: limit, cursor: cursor)
        return try await database.read("list tickets") { connection in
            let rows = try await connection.query(query, logger: database.logger).rows()
            let page = rows.prefix(limit)
            let next = rows.count > limit ? try page.last.map { String(try $0.value("seq", Int64.self)) } : nil
            return Page(items: try page.map(PostgresTicketRows.ticket), nextCursor: next)
        }
    }

    /// The history query: newest first by `seq`, so a job's page is a backwards walk of `ticket_job_name`.
    static func listQuery(_ filter: TicketFilter, limit: Int, cursor: String?) throws(StoreError) -> PostgresQuery {
        var sql = "SELECT \(PostgresTicketRows.columns) FROM ticket WHERE TRUE"
        var binds = PostgresBindings()
        func bind(_ condition: String, _ value: some PostgresNonThrowingEncodable) {
            binds.append(value)
            sql += " AND \(condition) $\(binds.count)"
        }
        if let cursor {
            guard let seq = Int64(cursor) else {
                throw StoreError(.invalidArgument, "cursor \"\(cursor)\" is not a cursor this store returned")
            }
            bind("seq <", seq)
        }
        if let name = filter.jobName { bind("job_name =", name) }
        if let state = filter.state { bind("state =", state.rawValue) }
        if let since = filter.since { bind("slot >=", since.milliseconds) }
        if let until = filter.until { bind("slot <", until.milliseconds) }
        binds.append(limit + 1)
        sql += " ORDER BY seq DESC LIMIT $\(binds.count)"
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    public func cancel(_ id: TicketID, now: Timestamp) async throws(StoreError) -> Ticket {
        let logger = database.logger
        return try await database.transaction("cancel ticket") { connection in
            let bytes = PostgresCodec.bytes(id)
            var row = try await connection.query(
                """
                UPDATE ticket SET state = \(unescaped: TicketState.cancelled.sqlLiteral),
                    reason = \(TicketReason.cancelled.rawValue), finished_at = \(now.milliseconds)
                WHERE id = \(bytes) AND \(unescaped: TicketPredicate.claimable)
                RETURNING \(unescaped: PostgresTicketRows.columns)
                """, logger: logger
            ).rows().first
            if row == nil {
                // A running ticket is asked to stop, seen at its next renew; its finish or expiry ends it.
                row = try await connection.query(
                    """
                    UPDATE ticket SET cancel_requested = TRUE WHERE id = \(bytes) AND \(unescaped: TicketPredicate.running)
                    RETURNING \(unescaped: PostgresTicketRows.columns)
                    """, logger: logger
                ).rows().first
            }
            if let row { return try await PostgresTicketRows.withAttempts(connection, row, logger: logger) }
            guard let ticket = try await PostgresTicketRows.ticket(connection, id: id, logger: logger) else {
                throw StoreError(.notFound, "no ticket \(id)")
            }
            throw StoreError(.conflict, "ticket \(id) is already \(ticket.state.rawValue)")
        }
    }
}
