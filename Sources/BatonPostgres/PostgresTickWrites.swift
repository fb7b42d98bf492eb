import BatonCore
import BatonStore
import Logging
import PostgresNIO

/// One tick's writes gathered as column arrays, then written in two statements: the planned tickets in one
/// `INSERT … SELECT FROM unnest(…)` and every job's new position in one `UPDATE … FROM unnest(…)`. A tick of
/// 100,000 due jobs is then two round trips of writes instead of 200,000.
///
/// postgres-nio binds arrays without NULL elements, so a nullable column travels with a sentinel that the statement
/// turns back into NULL: ``absent`` for times, the empty string for reason and detail (neither is ever empty), the
/// empty byte string for a job's last ticket.
struct TickWrites {
    /// The leader's epoch, written on every ticket.
    let epoch: Int64
    /// Every planned ticket in plan order, with its job and queue, for the tick report.
    private(set) var planned: [(PlannedTicket, DueJob, String)] = []
    private(set) var plans: [(TickPlan, DueJob)] = []

    static let absent = Int64.min

    /// Adds one job's plan: its tickets (in slot order) and its new position.
    mutating func add(_ plan: TickPlan, job: DueJob, inputs: TickInputs) {
        for ticket in plan.tickets { planned.append((ticket, job, inputs.queue)) }
        plans.append((plan, job))
    }

    /// Inserts every planned ticket; a ticket that already exists (its content hash is taken) is left alone. Returns
    /// the new rows' keys by ticket id. Rows are inserted in plan order (`WITH ORDINALITY … ORDER BY`), so `seq`
    /// order within a job is slot order, which `overlap: forbid` relies on.
    func insertTickets(_ connection: PostgresConnection, now: Timestamp, logger: Logger) async throws -> [TicketID: Int64] {
        guard !planned.isEmpty else { return [:] }
        let tickets = planned.map(\.0)
        let jobs = planned.map(\.1)
        let rows = try await connection.query(
            """
            INSERT INTO ticket (id, job_id, job_name, revision, queue, slot, state, reason, detail, epoch, not_before, deadline,
                deadline_if_newer, serialized, max_attempts, created_at, finished_at)
            SELECT t.id, t.job_id, t.job_name, t.revision, t.queue, t.slot, t.state, NULLIF(t.reason, ''), NULLIF(t.detail, ''),
                \(epoch)::bigint, t.not_before, NULLIF(t.deadline, \(Self.absent)), t.deadline_if_newer, t.serialized,
                t.max_attempts, \(now.milliseconds), NULLIF(t.finished_at, \(Self.absent))
            FROM unnest(
                \(tickets.map { PostgresCodec.bytes($0.id) })::bytea[], \(jobs.map(\.id.rawValue))::text[],
                \(jobs.map(\.name))::text[], \(jobs.map(\.revision))::bigint[], \(planned.map(\.2))::text[],
                \(tickets.map(\.slot.milliseconds))::bigint[], \(tickets.map(\.state.rawValue))::text[],
                \(tickets.map { $0.reason?.rawValue ?? "" })::text[], \(tickets.map { $0.detail ?? "" })::text[],
                \(tickets.map(\.notBefore.milliseconds))::bigint[], \(tickets.map { $0.deadline?.milliseconds ?? Self.absent })::bigint[],
                \(tickets.map(\.deadlineIfNewer))::boolean[], \(tickets.map(\.serialized))::boolean[],
                \(tickets.map(\.maxAttempts))::bigint[],
                \(tickets.map { $0.state.isFinal ? now.milliseconds : Self.absent })::bigint[]
            ) WITH ORDINALITY AS t(id, job_id, job_name, revision, queue, slot, state, reason, detail, not_before, deadline,
                deadline_if_newer, serialized, max_attempts, finished_at, ord)
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

    /// Writes every planned job's new watermark, next fire, due time, state and carried skips; `last` is the newest
    /// ticket written per job row key (a job whose tickets all existed keeps its last ticket).
    func updateJobs(_ connection: PostgresConnection, last: [Int64: TicketID], logger: Logger) async throws {
        guard !plans.isEmpty else { return }
        let empty = ByteBuffer()
        try await connection.query(
            """
            UPDATE job SET watermark = u.watermark, next_fire_at = NULLIF(u.next_fire_at, \(Self.absent)),
                due_at = NULLIF(u.due_at, \(Self.absent)), state = u.state,
                last_ticket = COALESCE(NULLIF(u.last_ticket, ''::bytea), job.last_ticket), catchup_unrecorded = u.carried
            FROM unnest(
                \(plans.map(\.1.seq))::bigint[], \(plans.map(\.0.watermark.milliseconds))::bigint[],
                \(plans.map { $0.0.nextFireAt?.milliseconds ?? Self.absent })::bigint[],
                \(plans.map { $0.0.dueAt?.milliseconds ?? Self.absent })::bigint[], \(plans.map(\.0.state.rawValue))::text[],
                \(plans.map { plan in last[plan.1.seq].map(PostgresCodec.bytes) ?? empty })::bytea[],
                \(plans.map(\.0.carriedSkips))::bigint[]
            ) AS u(seq, watermark, next_fire_at, due_at, state, last_ticket, carried)
            WHERE job.seq = u.seq
            """, logger: logger)
    }
}
