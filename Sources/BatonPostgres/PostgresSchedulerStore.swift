import BatonCore
import BatonStore
import Foundation
import PostgresNIO

/// The leader's writes, each one fenced transaction, and the reads that drive its loops. Tick planning is
/// BatonCore's ``TickPlanner`` with the inputs cache and report the SQLite store uses, so both backends write the
/// same tickets (ids, content, skip records) for the same jobs.
public struct PostgresSchedulerStore: SchedulerStore {
    let database: PostgresDatabase
    /// This process's (``StoreCaches``), shared by every copy of the store.
    private var tickInputs: TickInputsCache { database.caches.tickInputs }

    init(_ database: PostgresDatabase) { self.database = database }

    /// A tick is a fixed number of round trips whatever the number of due jobs (issue 14, item 8: 100,000 jobs due
    /// at one minute): the due jobs, the specs the cache lacks, the unfinished-ticket counts, every planned ticket in
    /// one `INSERT … SELECT FROM unnest`, every job's new position in one `UPDATE … FROM unnest`. Only the rare
    /// per-job writes (parking a job, `overlap: replace` cancelling its tickets) are a statement each.
    public func tick(_ fence: LeaderFence, now: Timestamp, lookahead: TimeSpan, limit: Int) async throws(StoreError) -> TickReport {
        try await database.fenced(fence, now: now, "tick") { connection in
            // Locked: a trigger of the same job waits, so its ticket's `seq` does not interleave with these.
            let due = try await connection.query(
                """
                SELECT seq, id, name, revision, state, created_at, watermark, next_fire_at, catchup_unrecorded FROM job
                WHERE deleted_at IS NULL AND due_at IS NOT NULL AND due_at <= \((now + lookahead).milliseconds)
                ORDER BY due_at LIMIT \(limit)
                FOR NO KEY UPDATE
                """, logger: database.logger
            ).rows().map(Self.dueJob)
            var report = TickReport()
            report.jobsExamined = due.count
            let plannable = try await inputs(for: due, connection, report: &report)
            let unfinished = try await unfinishedTickets(connection, plannable)
            var writes = TickWrites(epoch: fence.epoch)
            for (job, inputs) in plannable {
                let plan = TickPlanner.plan(
                    job.subject(inputs), schedule: inputs.schedule, unfinished: unfinished[job.seq] ?? 0, now: now, lookahead: lookahead)
                if plan.cancelUnfinished {
                    try await PostgresTicketRows.cancelUnfinished(connection, jobID: job.id, reason: .replaced, now: now, logger: database.logger)
                }
                writes.add(plan, job: job, inputs: inputs)
            }
            let written = try await writes.insertTickets(connection, now: now, logger: database.logger)
            var last: [Int64: TicketID] = [:]
            for (planned, job, queue) in writes.planned {
                let seq = written[planned.id]
                if seq != nil { last[job.seq] = planned.id }
                report.record(planned, seq: seq, job: job, queue: queue, epoch: fence.epoch)
            }
            for (plan, job) in writes.plans { report.recordUnrecorded(plan, job: job) }
            try await writes.updateJobs(connection, last: last, logger: database.logger)
            return report
        }
    }

    private static func dueJob(_ row: PostgresRandomAccessRow) throws -> DueJob {
        DueJob(
            seq: try row.value("seq"), id: JobID(rawValue: try row.value("id")), name: try row.value("name"),
            revision: try row.value("revision"), state: JobState(rawValue: try row.value("state")) ?? .active,
            createdAt: try row.timestamp("created_at"), watermark: try row.timestamp("watermark"),
            nextFireAt: try row.optionalTimestamp("next_fire_at"), unrecordedSkips: try row.value("catchup_unrecorded"))
    }

    /// Each due job's tick inputs, the specs the cache lacks read in one statement. A job this build cannot plan is
    /// parked (one statement each, rare) and left out: it must not stop every other job's tick (this transaction).
    private func inputs(
        for due: [DueJob], _ connection: PostgresConnection, report: inout TickReport
    ) async throws -> [(DueJob, TickInputs)] {
        let missing = due.filter { tickInputs.cached(seq: $0.seq, revision: $0.revision) == nil }.map(\.seq)
        var specs: [Int64: String] = [:]
        if !missing.isEmpty {
            for row in try await connection.query(
                "SELECT seq, spec FROM job WHERE seq = ANY(\(missing)::bigint[])", logger: database.logger
            ).rows() {
                specs[try row.value("seq", Int64.self)] = try row.value("spec", String.self)
            }
        }
        var plannable: [(DueJob, TickInputs)] = []
        plannable.reserveCapacity(due.count)
        for job in due {
            do {
                let inputs = try tickInputs.value(seq: job.seq, revision: job.revision) {
                    guard let json = specs[job.seq] else { throw StoreError(.corrupt, "job \(job.id) vanished during the tick") }
                    return try TickInputs.plannable(json, createdAt: job.createdAt)
                }
                plannable.append((job, inputs))
            } catch let unplannable as Unplannable {
                try await connection.query(
                    """
                    UPDATE job SET due_at = NULL, parked_revision = revision, parked_reason = \(unplannable.reason)
                    WHERE seq = \(job.seq)
                    """, logger: database.logger)
                report.parked.append(job.parked(unplannable.reason))
            }
        }
        return plannable
    }

    /// Unfinished tickets per job (by job row key), each counted up to what its planner needs: the bounded queue of
    /// catch-up `all` with `forbid`, else whether there is any.
    private func unfinishedTickets(_ connection: PostgresConnection, _ jobs: [(DueJob, TickInputs)]) async throws -> [Int64: Int] {
        guard !jobs.isEmpty else { return [:] }
        let rows = try await connection.query(
            """
            SELECT u.seq, (
                SELECT count(*) FROM (
                    SELECT 1 FROM ticket WHERE job_id = u.id AND \(unescaped: TicketPredicate.unfinished) LIMIT u.lim
                ) AS open
            ) AS n
            FROM unnest(\(jobs.map(\.0.seq))::bigint[], \(jobs.map(\.0.id.rawValue))::text[],
                        \(jobs.map { $0.0.needsUnfinishedCount($0.1) ? TickPlanner.queueLimit : 1 })::bigint[]) AS u(seq, id, lim)
            """, logger: database.logger
        ).rows()
        var counts: [Int64: Int] = [:]
        for row in rows { counts[try row.value("seq", Int64.self)] = try row.value("n", Int.self) }
        return counts
    }

    public func dueTickets(by horizon: Timestamp, after cursor: DueCursor?, limit: Int) async throws(StoreError) -> [DueTicket] {
        try await database.read("due tickets") { connection in
            // One row-value range on `ticket_due (not_before, seq)`: PostgreSQL walks the index from the cursor.
            try await connection.query(
                """
                SELECT seq, id, job_id, slot, epoch, queue, not_before FROM ticket
                WHERE \(unescaped: TicketPredicate.claimable)
                  AND (not_before, seq) > (\(cursor?.notBefore ?? Int64.min), \(cursor?.seq ?? Int64.min))
                  AND not_before <= \(horizon.milliseconds)
                  AND \(unescaped: PostgresTicketRows.serializedClear)
                ORDER BY not_before, seq LIMIT \(limit)
                """, logger: database.logger
            ).rows().compactMap { row -> DueTicket? in
                guard let id = PostgresCodec.ticketID(try row.value("id", ByteBuffer.self)) else { return nil }
                return DueTicket(
                    seq: try row.value("seq"), id: id, jobID: JobID(rawValue: try row.value("job_id")), slot: try row.timestamp("slot"),
                    epoch: try row.optional("epoch"), queue: try row.value("queue"), notBefore: try row.timestamp("not_before"))
            }
        }
    }

    public func nextWake(after now: Timestamp) async throws(StoreError) -> (jobDueAt: Timestamp?, ticketNotBefore: Timestamp?) {
        let (job, ticket) = try await database.read("next wake") { connection in
            let row = try await connection.query(
                """
                SELECT (SELECT min(due_at) FROM job WHERE deleted_at IS NULL AND due_at IS NOT NULL) AS job,
                       (SELECT min(not_before) FROM ticket
                        WHERE \(unescaped: TicketPredicate.claimable) AND not_before > \(now.milliseconds)) AS ticket
                """, logger: database.logger
            ).rows().first
            return (try row?.optional("job", Int64.self), try row?.optional("ticket", Int64.self))
        }
        return (PostgresCodec.timestamp(job), PostgresCodec.timestamp(ticket))
    }

    public func dueJobCount(by instant: Timestamp, cap: Int) async throws(StoreError) -> Int {
        try await database.read("due job count") { connection in
            try await connection.query(
                """
                SELECT count(*) AS n FROM (
                    SELECT 1 FROM job WHERE deleted_at IS NULL AND due_at IS NOT NULL AND due_at <= \(instant.milliseconds) LIMIT \(cap)
                ) AS due
                """, logger: database.logger
            ).rows().first?.value("n", Int.self) ?? 0
        }
    }

    public func expireLeases(_ fence: LeaderFence, now: Timestamp, limit: Int) async throws(StoreError) -> [TicketID] {
        try await database.fenced(fence, now: now, "expire leases") { connection in
            // SKIP LOCKED: a ticket whose completion holds its row is being finished already; the next sweep sees it.
            let rows = try await connection.query(
                """
                SELECT seq, id, job_id, attempt, max_attempts, cancel_requested FROM ticket
                WHERE \(unescaped: TicketPredicate.running) AND lease_expires_at <= \(now.milliseconds)
                ORDER BY lease_expires_at LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
                """, logger: database.logger
            ).rows()
            var expired: [TicketID] = []
            var ended: [EndedAttempt] = []
            for row in rows {
                guard let id = PostgresCodec.ticketID(try row.value("id", ByteBuffer.self)) else { continue }
                ended.append(
                    try EndedAttempt(
                        row, seq: try row.value("seq"), outcome: .leaseExpired, status: nil, output: nil, retry: RetryPolicy(),
                        finalReason: nil, now: now))
                expired.append(id)
            }
            try await EndedAttempt.write(ended, connection, now: now, logger: database.logger)
            return expired
        }
    }

    public func enforceDeadlines(_ fence: LeaderFence, now: Timestamp) async throws(StoreError) -> Int {
        try await database.fenced(fence, now: now, "enforce deadlines") { connection in
            // A catch-up `latest` ticket's deadline counts only once a newer slot ticket of its job exists.
            try await connection.query(
                """
                UPDATE ticket SET state = \(unescaped: TicketState.skipped.sqlLiteral), reason = \(TicketReason.misfire.rawValue),
                    finished_at = \(now.milliseconds), detail = \(TicketPredicate.misfireDetail)
                WHERE \(unescaped: TicketPredicate.misfirable) AND deadline <= \(now.milliseconds)
                  AND (NOT deadline_if_newer OR EXISTS (
                        SELECT 1 FROM ticket AS newer
                        WHERE newer.job_id = ticket.job_id AND NOT newer.manual AND newer.slot > ticket.slot))
                RETURNING 1
                """, logger: database.logger
            ).count()
        }
    }

    public func cancellationsRequested() async throws(StoreError) -> [(TicketID, executor: String)] {
        let rows = try await database.read("cancellations") { connection in
            try await connection.query(
                """
                SELECT id, executor FROM ticket
                WHERE \(unescaped: TicketPredicate.running) AND cancel_requested AND executor IS NOT NULL
                """, logger: database.logger
            ).rows().map { row in (PostgresCodec.ticketID(try row.value("id", ByteBuffer.self)), try row.value("executor", String.self)) }
        }
        return rows.compactMap { id, executor in id.map { ($0, executor: executor) } }
    }

    public func releaseParked(_ fence: LeaderFence, now: Timestamp) async throws(StoreError) -> (released: [ParkedJob], stillParked: Int) {
        try await database.fenced(fence, now: now, "release parked jobs") { connection in
            let rows = try await connection.query(
                """
                SELECT seq, id, name, revision, spec, created_at FROM job
                WHERE parked_revision IS NOT NULL AND parked_revision = revision AND deleted_at IS NULL
                FOR NO KEY UPDATE
                """, logger: database.logger
            ).rows()
            var released: [ParkedJob] = []
            for row in rows {
                guard (try? TickInputs.plannable(try row.value("spec"), createdAt: try row.timestamp("created_at"))) != nil else { continue }
                // Due at once: the tick plans it from its watermark, like a job after downtime (catch-up applies).
                try await connection.query(
                    """
                    UPDATE job SET parked_revision = NULL, parked_reason = NULL,
                        due_at = CASE WHEN state = 'active' THEN \(now.milliseconds) END
                    WHERE seq = \(try row.value("seq", Int64.self))
                    """, logger: database.logger)
                released.append(
                    ParkedJob(id: JobID(rawValue: try row.value("id")), name: try row.value("name"), revision: try row.value("revision"), reason: ""))
            }
            return (released, rows.count - released.count)
        }
    }

    public func parkedJobCount() async throws(StoreError) -> Int {
        try await database.read("parked job count") { connection in
            try await connection.query(
                """
                SELECT count(*) AS n FROM job
                WHERE parked_revision IS NOT NULL AND parked_revision = revision AND deleted_at IS NULL
                """, logger: database.logger
            ).rows().first?.value("n", Int.self) ?? 0
        }
    }
}
