import BatonCore
import BatonStore
import Foundation
import GRDB

public struct SQLiteTicketStore: TicketStore {
    let database: BatonDatabase

    public init(_ database: BatonDatabase) { self.database = database }

    public func trigger(jobName: String, idempotencyKey: String?, now: Timestamp) async throws(StoreError) -> (ticket: Ticket, created: Bool) {
        // Grouped: triggers that arrive together share one transaction (each in its own savepoint), so a burst of
        // them costs one write lock and one WAL commit instead of one each.
        try await StoreError.mapping("trigger") {
            try await database.grouped.write { db in
                guard let job = try JobRows.live(db, name: jobName, specs: database.caches.specs) else {
                    throw StoreError(.notFound, "no job named \"\(jobName)\"")
                }
                let key = idempotencyKey ?? UUID().uuidString.lowercased()
                if let known = try Data.fetchOne(
                    db.cachedStatement(sql: "SELECT ticket_id FROM idempotency_key WHERE job_id = ? AND key = ?"),
                    arguments: [job.id.rawValue, key])
                {
                    guard let id = TicketID(bytes: Array(known)), let ticket = try TicketRows.ticket(db, id: id, withAttempts: true)
                    else {
                        throw StoreError(.conflict, "Idempotency-Key \"\(key)\" was used for a ticket that has been purged")
                    }
                    return (ticket, false)
                }
                // After the replay above: a key already answered keeps its answer.
                try job.requireReadableSpec(for: "triggered")
                let new = NewTicket.manual(job: job, idempotencyKey: key, now: now)
                let inserted = try TicketRows.insertReturningTicket(db, new, now: now)
                try db.cachedStatement(
                    sql: "INSERT INTO idempotency_key (job_id, key, ticket_id, created_at) VALUES (?, ?, ?, ?)"
                ).execute(arguments: [job.id.rawValue, key, Codec.blob(new.id), now.milliseconds])
                guard let ticket = inserted else {
                    // The ticket outlived its key's record: answer with the ticket as it is, not a second one.
                    guard let existing = try TicketRows.ticket(db, id: new.id, withAttempts: true) else {
                        throw StoreError(.corrupt, "manual ticket \(new.id) is neither new nor stored")
                    }
                    return (existing, false)
                }
                try db.cachedStatement(sql: "UPDATE job SET last_ticket = ? WHERE id = ?").execute(
                    arguments: [Codec.blob(new.id), job.id.rawValue])
                return (ticket, true)
            }
        }
    }

    public func ticket(_ id: TicketID) async throws(StoreError) -> Ticket? {
        try await StoreError.mapping("get ticket") {
            try await database.read { db in try TicketRows.ticket(db, id: id, withAttempts: true) }
        }
    }

    public func list(_ filter: TicketFilter, limit: Int, cursor: String?) async throws(StoreError) -> Page<Ticket> {
        try await StoreError.mapping("list tickets") {
            try await database.read { db in
                let (sql, arguments) = try Self.listQuery(filter, limit: limit, cursor: cursor)
                let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
                let page = rows.prefix(limit)
                let next = rows.count > limit ? page.last.map { String($0["seq"] as Int64) } : nil
                return Page(items: try page.map(TicketRows.ticket), nextCursor: next)
            }
        }
    }

    /// The history query: newest first by `seq`, so a job's page is a backwards walk of `ticket_job_name`.
    static func listQuery(_ filter: TicketFilter, limit: Int, cursor: String?) throws -> (String, StatementArguments) {
        var sql = "SELECT * FROM ticket WHERE 1"
        var arguments: StatementArguments = []
        if let cursor {
            guard let seq = Int64(cursor) else { throw StoreError(.invalidArgument, "cursor \"\(cursor)\" is not a cursor this store returned") }
            sql += " AND seq < ?"
            arguments += [seq]
        }
        if let name = filter.jobName {
            sql += " AND job_name = ?"
            arguments += [name]
        }
        if let state = filter.state {
            sql += " AND state = ?"
            arguments += [state.rawValue]
        }
        if let since = filter.since {
            sql += " AND slot >= ?"
            arguments += [since.milliseconds]
        }
        if let until = filter.until {
            sql += " AND slot < ?"
            arguments += [until.milliseconds]
        }
        sql += " ORDER BY seq DESC LIMIT ?"
        arguments += [limit + 1]
        return (sql, arguments)
    }

    public func cancel(_ id: TicketID, now: Timestamp) async throws(StoreError) -> Ticket {
        try await StoreError.mapping("cancel ticket") {
            try await database.pool.write { db in
                if let cancelled = try TicketRows.cancel(db, id: id, now: now) { return cancelled }
                guard let ticket = try TicketRows.ticket(db, id: id, withAttempts: false) else {
                    throw StoreError(.notFound, "no ticket \(id)")
                }
                throw StoreError(.conflict, "ticket \(id) is already \(ticket.state.rawValue)")
            }
        }
    }
}
