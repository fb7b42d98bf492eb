import BatonCore
import BatonStore
import Foundation
import PostgresNIO

/// Conversions between domain values and PostgreSQL columns, in one place. Times are `bigint` milliseconds since
/// the Unix epoch (as in SQLite): slots are integer milliseconds by contract, and one representation in both
/// backends keeps every comparison exact and the copy between them lossless.
package enum PostgresCodec {
    package static func bytes(_ id: TicketID) -> ByteBuffer { ByteBuffer(bytes: id.bytes) }
    static func bytes(_ token: ClaimToken) -> ByteBuffer { ByteBuffer(bytes: token.bytes) }

    package static func ticketID(_ buffer: ByteBuffer?) -> TicketID? {
        guard let buffer else { return nil }
        return TicketID(bytes: Array(buffer.readableBytesView))
    }

    static func timestamp(_ milliseconds: Int64?) -> Timestamp? { milliseconds.map(Timestamp.init(milliseconds:)) }
}

extension PostgresRandomAccessRow {
    /// The column's value; a NULL or a type other than `T` is a decoding error (→ `.corrupt`).
    func value<T: PostgresDecodable>(_ column: String, _: T.Type = T.self) throws -> T where T._DecodableType == T {
        try self[column].decode(T.self)
    }

    func optional<T: PostgresDecodable>(_ column: String, _: T.Type = T.self) throws -> T? where T._DecodableType == T {
        try self[column].decode(T?.self)
    }

    func timestamp(_ column: String) throws -> Timestamp { Timestamp(milliseconds: try value(column, Int64.self)) }

    func optionalTimestamp(_ column: String) throws -> Timestamp? { PostgresCodec.timestamp(try optional(column, Int64.self)) }
}

extension PostgresRowSequence {
    /// Every row, random access by column name.
    func rows() async throws -> [PostgresRandomAccessRow] { try await collect().map { $0.makeRandomAccess() } }

    /// How many rows there were (for `… RETURNING 1`).
    func count() async throws -> Int { try await collect().count }
}

/// SQL for the `ticket` and `attempt` tables, shared by the stores that touch them inside their own transactions.
package enum PostgresTicketRows {
    /// The columns a ``Ticket`` is read from.
    static let columns = """
        seq, id, job_id, job_name, revision, slot, state, reason, detail, epoch, attempt, max_attempts, not_before,
        created_at, started_at, finished_at, executor, manual
        """

    static func ticket(_ row: PostgresRandomAccessRow) throws -> Ticket {
        guard let id = PostgresCodec.ticketID(try row.optional("id", ByteBuffer.self)) else {
            throw StoreError(.corrupt, "ticket row without a 32-byte id")
        }
        return Ticket(
            id: id,
            jobID: JobID(rawValue: try row.value("job_id")),
            jobName: try row.value("job_name"),
            revision: try row.value("revision"),
            slot: try row.timestamp("slot"),
            state: TicketState(rawValue: try row.value("state")) ?? .pending,
            reason: try row.optional("reason", String.self).flatMap(TicketReason.init(rawValue:)),
            detail: try row.optional("detail"),
            epoch: try row.optional("epoch"),
            attempt: try row.value("attempt"),
            maxAttempts: try row.value("max_attempts"),
            notBefore: try row.timestamp("not_before"),
            createdAt: try row.timestamp("created_at"),
            startedAt: try row.optionalTimestamp("started_at"),
            finishedAt: try row.optionalTimestamp("finished_at"),
            executor: try row.optional("executor"),
            manual: try row.value("manual"))
    }

    static func attempts(_ connection: PostgresConnection, seq: Int64, logger: Logger) async throws -> [Attempt] {
        try await connection.query(
            """
            SELECT number, executor, started_at, finished_at, outcome, status, output FROM attempt
            WHERE ticket_seq = \(seq) ORDER BY number
            """, logger: logger
        ).rows().map { row in
            Attempt(
                number: try row.value("number"), executor: try row.value("executor"), startedAt: try row.timestamp("started_at"),
                finishedAt: try row.optionalTimestamp("finished_at"),
                outcome: try row.optional("outcome", String.self).flatMap(AttemptOutcome.init(rawValue:)),
                status: try row.optional("status"), output: try row.optional("output"))
        }
    }

    /// The ticket with `id`, attempts included; nil when there is none.
    static func ticket(_ connection: PostgresConnection, id: TicketID, logger: Logger) async throws -> Ticket? {
        let rows = try await connection.query(
            "SELECT \(unescaped: columns) FROM ticket WHERE id = \(PostgresCodec.bytes(id))", logger: logger
        ).rows()
        guard let row = rows.first else { return nil }
        return try await withAttempts(connection, row, logger: logger)
    }

    static func withAttempts(_ connection: PostgresConnection, _ row: PostgresRandomAccessRow, logger: Logger) async throws -> Ticket {
        var ticket = try self.ticket(row)
        ticket.attempts = try await attempts(connection, seq: try row.value("seq", Int64.self), logger: logger)
        return ticket
    }

    /// Write: the new row's `seq`, or nil when a ticket with this id exists (the unique index makes a second write
    /// of a slot a no-op). `RETURNING` answers with the columns a ``Ticket`` is read from.
    static func insert(
        _ connection: PostgresConnection, _ ticket: NewTicketRow, now: Timestamp, logger: Logger
    ) async throws -> PostgresRandomAccessRow? {
        let finishedAt: Int64? = ticket.state.isFinal ? now.milliseconds : nil
        return try await connection.query(
            """
            INSERT INTO ticket (id, job_id, job_name, revision, queue, slot, manual, idempotency_key, state, reason, detail,
                epoch, not_before, deadline, deadline_if_newer, serialized, max_attempts, created_at, finished_at)
            VALUES (\(PostgresCodec.bytes(ticket.id)), \(ticket.jobID.rawValue), \(ticket.jobName), \(ticket.revision),
                \(ticket.queue), \(ticket.slot.milliseconds), \(ticket.manual), \(ticket.idempotencyKey), \(ticket.state.rawValue),
                \(ticket.reason?.rawValue), \(ticket.detail), \(ticket.epoch), \(ticket.notBefore.milliseconds),
                \(ticket.deadline?.milliseconds), \(ticket.deadlineIfNewer), \(ticket.serialized), \(ticket.maxAttempts),
                \(now.milliseconds), \(finishedAt))
            ON CONFLICT (id) DO NOTHING
            RETURNING \(unescaped: columns)
            """, logger: logger
        ).rows().first
    }

    /// Writes many tickets in one statement, `INSERT … SELECT FROM unnest(…) WITH ORDINALITY ORDER BY ord`: rows get
    /// their `seq` in array order, so within a job `seq` order is the order given (slot order for the tick, which
    /// `overlap: forbid` relies on). A ticket whose id exists is left alone. Returns the new rows' keys by ticket id.
    ///
    /// postgres-nio binds arrays without NULL elements, so a nullable column travels with a sentinel that the
    /// statement turns back into NULL: ``absent`` for times and the epoch, the empty string for text (an empty
    /// reason, detail or idempotency key is never written).
    package static func insertMany(
        _ connection: PostgresConnection, _ tickets: [NewTicketRow], now: Timestamp, logger: Logger
    ) async throws -> [TicketID: Int64] {
        guard !tickets.isEmpty else { return [:] }
        let rows = try await connection.query(
            """
            INSERT INTO ticket (id, job_id, job_name, revision, queue, slot, manual, idempotency_key, state, reason, detail,
                epoch, not_before, deadline, deadline_if_newer, serialized, max_attempts, created_at, finished_at)
            SELECT t.id, t.job_id, t.job_name, t.revision, t.queue, t.slot, t.manual, NULLIF(t.idempotency_key, ''), t.state,
                NULLIF(t.reason, ''), NULLIF(t.detail, ''), NULLIF(t.epoch, \(absent)), t.not_before, NULLIF(t.deadline, \(absent)),
                t.deadline_if_newer, t.serialized, t.max_attempts, \(now.milliseconds),
                CASE WHEN \(unescaped: TicketPredicate.isFinal("t.state")) THEN \(now.milliseconds) END
            FROM unnest(
                \(tickets.map { PostgresCodec.bytes($0.id) })::bytea[], \(tickets.map(\.jobID.rawValue))::text[],
                \(tickets.map(\.jobName))::text[], \(tickets.map(\.revision))::bigint[], \(tickets.map(\.queue))::text[],
                \(tickets.map(\.slot.milliseconds))::bigint[], \(tickets.map(\.manual))::boolean[],
                \(tickets.map { $0.idempotencyKey ?? "" })::text[], \(tickets.map(\.state.rawValue))::text[],
                \(tickets.map { $0.reason?.rawValue ?? "" })::text[], \(tickets.map { $0.detail ?? "" })::text[],
                \(tickets.map { $0.epoch ?? absent })::bigint[], \(tickets.map(\.notBefore.milliseconds))::bigint[],
                \(tickets.map { $0.deadline?.milliseconds ?? absent })::bigint[], \(tickets.map(\.deadlineIfNewer))::boolean[],
                \(tickets.map(\.serialized))::boolean[], \(tickets.map(\.maxAttempts))::bigint[]
            ) WITH ORDINALITY AS t(id, job_id, job_name, revision, queue, slot, manual, idempotency_key, state, reason, detail,
                epoch, not_before, deadline, deadline_if_newer, serialized, max_attempts, ord)
            ORDER BY t.ord
            ON CONFLICT (id) DO NOTHING
            RETURNING id, seq
            """, logger: logger
        ).rows()
        var written: [TicketID: Int64] = [:]
        written.reserveCapacity(rows.count)
        for row in rows {
            guard let id = PostgresCodec.ticketID(try row.value("id", ByteBuffer.self)) else { continue }
            written[id] = try row.value("seq", Int64.self)
        }
        return written
    }

    /// The sentinel for an absent time or epoch in ``insertMany(_:_:now:logger:)``'s arrays.
    package static let absent = Int64.min

    /// Cancel of every unfinished ticket of a job (deleted, or its overlap policy replaces them): the claimable ones
    /// end `cancelled`, running ones are asked to stop.
    static func cancelUnfinished(
        _ connection: PostgresConnection, jobID: JobID, reason: TicketReason, now: Timestamp, logger: Logger
    ) async throws {
        try await connection.query(
            """
            UPDATE ticket SET state = \(unescaped: TicketState.cancelled.sqlLiteral), reason = \(reason.rawValue),
                finished_at = \(now.milliseconds)
            WHERE job_id = \(jobID.rawValue) AND \(unescaped: TicketPredicate.claimable)
            """, logger: logger)
        try await connection.query(
            """
            UPDATE ticket SET cancel_requested = TRUE
            WHERE job_id = \(jobID.rawValue) AND \(unescaped: TicketPredicate.running)
            """, logger: logger)
    }

    /// Overlap forbid: a serialized ticket is claimable only once no earlier ticket of its job is unfinished. The
    /// leader's due read applies it too, so it does not offer a ticket every claim would refuse. Ticket writes of
    /// one job are serialized by its job row lock (tick, trigger), so `seq` order is commit order within a job and
    /// an earlier ticket cannot appear after this check passed.
    static let serializedClear = """
        (NOT ticket.serialized OR NOT EXISTS (
            SELECT 1 FROM ticket AS earlier
            WHERE earlier.job_id = ticket.job_id AND earlier.seq < ticket.seq AND earlier.\(TicketPredicate.unfinished)))
        """
}

/// One ticket row to write: what the tick planned or a trigger asked for, with the job columns it copies.
package struct NewTicketRow {
    package var id: TicketID
    package var jobID: JobID
    package var jobName: String
    package var revision: Int64
    package var queue: String
    package var maxAttempts: Int
    package var slot: Timestamp
    package var manual = false
    package var idempotencyKey: String?
    package var state: TicketState = .pending
    package var reason: TicketReason?
    package var detail: String?
    package var epoch: Int64?
    package var notBefore: Timestamp
    package var deadline: Timestamp?
    package var deadlineIfNewer = false
    package var serialized = false

    /// A ticket the tick planned, under the leader's epoch.
    init(_ planned: PlannedTicket, job: DueJob, inputs: TickInputs, epoch: Int64) {
        self.id = planned.id
        self.jobID = job.id
        self.jobName = job.name
        self.revision = job.revision
        self.queue = inputs.queue
        self.maxAttempts = inputs.policy.retry.maxAttempts
        self.slot = planned.slot
        self.state = planned.state
        self.reason = planned.reason
        self.detail = planned.detail
        self.epoch = epoch
        self.notBefore = planned.notBefore
        self.deadline = planned.deadline
        self.deadlineIfNewer = planned.deadlineIfNewer
        self.serialized = planned.serialized
    }

    /// A manual trigger of the job's current revision, slotted at `now`.
    package init(manual job: Job, idempotencyKey: String, now: Timestamp) {
        self.id = TicketID.manual(job: job.id, idempotencyKey: idempotencyKey)
        self.jobID = job.id
        self.jobName = job.name
        self.revision = job.revision
        self.queue = job.spec.queue
        self.maxAttempts = job.spec.policy.retry.maxAttempts
        self.slot = now
        self.manual = true
        self.idempotencyKey = idempotencyKey
        self.notBefore = now
        self.serialized = job.spec.policy.overlap == .forbid
    }
}

/// SQL for the `job` table.
enum PostgresJobRows {
    static let columns = """
        seq, id, name, revision, spec, state, queue, created_at, updated_at, watermark, next_fire_at, last_ticket,
        last_success_at, last_failure_at, parked_revision, parked_reason
        """

    static func job(_ row: PostgresRandomAccessRow, specs: SpecCache) throws -> Job {
        StoredJobRow(
            id: try row.value("id"), name: try row.value("name"), revision: try row.value("revision"),
            spec: try row.value("spec"), state: try row.value("state"), queue: try row.value("queue"),
            createdAt: try row.timestamp("created_at"), updatedAt: try row.timestamp("updated_at"),
            watermark: try row.timestamp("watermark"), nextFireAt: try row.optionalTimestamp("next_fire_at"),
            lastTicket: PostgresCodec.ticketID(try row.optional("last_ticket", ByteBuffer.self)),
            lastSuccessAt: try row.optionalTimestamp("last_success_at"), lastFailureAt: try row.optionalTimestamp("last_failure_at"),
            parkedRevision: try row.optional("parked_revision"), parkedReason: try row.optional("parked_reason")
        ).job(specs: specs)
    }

    /// The live job named `name`; with `lock`, its row is locked until the transaction ends, which serializes
    /// edits and ticket writes of one job (what SQLite's single writer did).
    static func live(_ connection: PostgresConnection, name: String, lock: Bool, specs: SpecCache, logger: Logger) async throws -> Job? {
        let query: PostgresQuery =
            lock
            ? "SELECT \(unescaped: columns) FROM job WHERE name = \(name) AND deleted_at IS NULL FOR NO KEY UPDATE"
            : "SELECT \(unescaped: columns) FROM job WHERE name = \(name) AND deleted_at IS NULL"
        return try await connection.query(query, logger: logger).rows().first.map { try job($0, specs: specs) }
    }
}
