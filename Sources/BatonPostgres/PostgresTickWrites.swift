import BatonCore
import BatonStore
import Logging
import PostgresNIO

/// One tick's writes gathered, then written in two statements: every planned ticket in one
/// ``PostgresTicketRows/insertMany(_:_:now:logger:)`` and every job's new position in one `UPDATE … FROM unnest(…)`.
/// A tick of 100,000 due jobs is then two round trips of writes instead of 200,000.
struct TickWrites {
    /// The leader's epoch, written on every ticket.
    let epoch: Int64
    /// Every planned ticket in plan order, with its job and queue, for the tick report.
    private(set) var planned: [(PlannedTicket, DueJob, String)] = []
    private(set) var plans: [(TickPlan, DueJob)] = []
    private var rows: [NewTicketRow] = []

    init(epoch: Int64) { self.epoch = epoch }

    /// Adds one job's plan: its tickets (in slot order) and its new position.
    mutating func add(_ plan: TickPlan, job: DueJob, inputs: TickInputs) {
        for ticket in plan.tickets {
            planned.append((ticket, job, inputs.queue))
            rows.append(NewTicketRow(ticket, job: job, inputs: inputs, epoch: epoch))
        }
        plans.append((plan, job))
    }

    /// Inserts every planned ticket; returns the new rows' keys by ticket id (an existing ticket is absent).
    func insertTickets(_ connection: PostgresConnection, now: Timestamp, logger: Logger) async throws -> [TicketID: Int64] {
        try await PostgresTicketRows.insertMany(connection, rows, now: now, logger: logger)
    }

    /// Writes every planned job's new watermark, next fire, due time, state and carried skips; `last` is the newest
    /// ticket written per job row key (a job whose tickets all existed keeps its last ticket). Absent times travel as
    /// ``PostgresTicketRows/absent`` and an absent last ticket as the empty byte string (arrays bind no NULLs).
    func updateJobs(_ connection: PostgresConnection, last: [Int64: TicketID], logger: Logger) async throws {
        guard !plans.isEmpty else { return }
        let absent = PostgresTicketRows.absent
        let empty = ByteBuffer()
        try await connection.query(
            """
            UPDATE job SET watermark = u.watermark, next_fire_at = NULLIF(u.next_fire_at, \(absent)),
                due_at = NULLIF(u.due_at, \(absent)), state = u.state,
                last_ticket = COALESCE(NULLIF(u.last_ticket, ''::bytea), job.last_ticket), catchup_unrecorded = u.carried
            FROM unnest(
                \(plans.map(\.1.seq))::bigint[], \(plans.map(\.0.watermark.milliseconds))::bigint[],
                \(plans.map { $0.0.nextFireAt?.milliseconds ?? absent })::bigint[],
                \(plans.map { $0.0.dueAt?.milliseconds ?? absent })::bigint[], \(plans.map(\.0.state.rawValue))::text[],
                \(plans.map { plan in last[plan.1.seq].map(PostgresCodec.bytes) ?? empty })::bytea[],
                \(plans.map(\.0.carriedSkips))::bigint[]
            ) AS u(seq, watermark, next_fire_at, due_at, state, last_ticket, carried)
            WHERE job.seq = u.seq
            """, logger: logger)
    }
}
