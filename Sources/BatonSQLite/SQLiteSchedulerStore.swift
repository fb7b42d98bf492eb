import BatonCore
import BatonStore
import Foundation
import GRDB
import Synchronization

public struct SQLiteSchedulerStore: SchedulerStore {
    let database: BatonDatabase
    /// What the tick needs of each job revision (resolved schedule, policy, queue), interned: this process's
    /// (``StoreCaches``), shared by every copy of the store.
    private var tickInputs: TickInputsCache { database.caches.tickInputs }

    public init(_ database: BatonDatabase) { self.database = database }

    public func tick(_ fence: LeaderFence, now: Timestamp, lookahead: TimeSpan, limit: Int) async throws(StoreError) -> TickReport {
        try await StoreError.mapping("tick") {
            try await database.pool.write { db in
                try fence.check(db, now: now)
                var report = TickReport()
                var due: [DueJob] = []
                try db.cachedStatement(
                    sql: """
                        SELECT seq, id, name, revision, state, created_at, watermark, next_fire_at, catchup_unrecorded FROM job
                        WHERE deleted_at IS NULL AND due_at IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?
                        """
                ).forEachRawRow([(now + lookahead).milliseconds, limit]) { row in
                    due.append(
                        DueJob(
                            seq: row.int64(0), id: JobID(rawValue: row.string(1)), name: row.string(2), revision: row.int64(3),
                            state: JobState(rawValue: row.string(4)) ?? .active, createdAt: Timestamp(milliseconds: row.int64(5)),
                            watermark: Timestamp(milliseconds: row.int64(6)), nextFireAt: row.optionalInt64(7).map { Timestamp(milliseconds: $0) },
                            unrecordedSkips: Int(row.int64(8))))
                }
                for job in due {
                    report.jobsExamined += 1
                    let inputs: TickInputs
                    do {
                        inputs = try tickInputs.value(seq: job.seq, revision: job.revision) {
                            guard let json = try String.fetchOne(db, sql: "SELECT spec FROM job WHERE seq = ?", arguments: [job.seq])
                            else { throw StoreError(.corrupt, "job \(job.id) vanished during the tick") }
                            return try TickInputs.plannable(json, createdAt: job.createdAt)
                        }
                    } catch let unplannable as Unplannable {
                        // One job this build cannot plan must not stop every other job's tick (this transaction):
                        // park it, visibly, and go on.
                        try db.cachedStatement(
                            sql: "UPDATE job SET due_at = NULL, parked_revision = revision, parked_reason = ? WHERE seq = ?"
                        ).execute(arguments: [unplannable.reason, job.seq])
                        report.parked.append(job.parked(unplannable.reason))
                        continue
                    }
                    let owner = TicketRows.Owner(
                        jobID: job.id, name: job.name, revision: job.revision, queue: inputs.queue,
                        maxAttempts: inputs.policy.retry.maxAttempts)
                    let unfinished = job.needsUnfinishedCount(inputs)
                        ? try TicketRows.unfinishedCount(db, jobID: job.id, upTo: TickPlanner.queueLimit)
                        : (try TicketRows.hasUnfinished(db, jobID: job.id) ? 1 : 0)
                    let plan = TickPlanner.plan(
                        job.subject(inputs), schedule: inputs.schedule, unfinished: unfinished, now: now, lookahead: lookahead)
                    if plan.cancelUnfinished {
                        try TicketRows.cancelUnfinished(db, jobID: job.id, reason: .replaced, now: now)
                    }
                    var last: TicketID?
                    for planned in plan.tickets {
                        let inserted = try TicketRows.insert(db, NewTicket(planned, owner: owner, epoch: fence.epoch), now: now)
                        if inserted { last = planned.id }
                        report.record(planned, seq: inserted ? db.lastInsertedRowID : nil, job: job, queue: inputs.queue, epoch: fence.epoch)
                    }
                    report.recordUnrecorded(plan, job: job)
                    try db.cachedStatement(
                        sql: """
                            UPDATE job SET watermark = ?, next_fire_at = ?, due_at = ?, state = ?,
                                last_ticket = COALESCE(?, last_ticket), catchup_unrecorded = ?
                            WHERE seq = ?
                            """
                    ).execute(
                        arguments: [
                            plan.watermark.milliseconds, plan.nextFireAt?.milliseconds, plan.dueAt?.milliseconds,
                            plan.state.rawValue, last.map(Codec.blob), plan.carriedSkips, job.seq,
                        ])
                }
                return report
            }
        }
    }

    public func dueTickets(by horizon: Timestamp, after cursor: DueCursor?, limit: Int) async throws(StoreError) -> [DueTicket] {
        try await StoreError.mapping("due tickets") {
            try await database.read { db in
                // Two index ranges instead of one row-value comparison: SQLite uses `(not_before, seq) > (?, ?)` only
                // as a range on not_before, which rescans every ticket sharing the cursor's not_before (100,000 of
                // them when a benchmark makes them all due at once). The rest of `seq` ties after the cursor, then
                // everything later.
                let columns = "seq, id, job_id, slot, epoch, queue, not_before"
                var due: [DueTicket] = []
                due.reserveCapacity(min(limit, 4096))
                func collect(_ statement: Statement, _ arguments: StatementArguments) throws {
                    try statement.forEachRawRow(arguments) { row in
                        guard let id = row.ticketID(1) else { return }
                        due.append(
                            DueTicket(
                                seq: row.int64(0), id: id, jobID: JobID(rawValue: row.string(2)),
                                slot: Timestamp(milliseconds: row.int64(3)), epoch: row.optionalInt64(4), queue: row.string(5),
                                notBefore: Timestamp(milliseconds: row.int64(6))))
                    }
                }
                if let cursor, cursor.notBefore <= horizon.milliseconds {
                    let ties = try db.cachedStatement(
                        sql: """
                            SELECT \(columns) FROM ticket INDEXED BY ticket_due
                            WHERE \(TicketPredicate.claimable) AND not_before = ? AND seq > ?
                              AND \(TicketPredicate.serializedClear)
                            ORDER BY seq LIMIT ?
                            """)
                    try collect(ties, [cursor.notBefore, cursor.seq, limit])
                }
                if due.count < limit {
                    let later = try db.cachedStatement(
                        sql: """
                            SELECT \(columns) FROM ticket INDEXED BY ticket_due
                            WHERE \(TicketPredicate.claimable) AND not_before > ? AND not_before <= ?
                              AND \(TicketPredicate.serializedClear)
                            ORDER BY not_before, seq LIMIT ?
                            """)
                    try collect(later, [cursor?.notBefore ?? Int64.min, horizon.milliseconds, limit - due.count])
                }
                return due
            }
        }
    }

    public func nextWake(after now: Timestamp) async throws(StoreError) -> (jobDueAt: Timestamp?, ticketNotBefore: Timestamp?) {
        try await StoreError.mapping("next wake") {
            try await database.read { db in
                let job = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT MIN(due_at) FROM job WHERE deleted_at IS NULL AND due_at IS NOT NULL"))
                let ticket = try Int64.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT MIN(not_before) FROM ticket WHERE \(TicketPredicate.claimable) AND not_before > ?"),
                    arguments: [now.milliseconds])
                return (Codec.timestamp(job), Codec.timestamp(ticket))
            }
        }
    }

    public func dueJobCount(by instant: Timestamp, cap: Int) async throws(StoreError) -> Int {
        try await StoreError.mapping("due job count") {
            try await database.read { db in
                try Int.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT COUNT(*) FROM (
                                SELECT 1 FROM job WHERE deleted_at IS NULL AND due_at IS NOT NULL AND due_at <= ? LIMIT ?)
                            """),
                    arguments: [instant.milliseconds, cap]) ?? 0
            }
        }
    }

    public func expireLeases(_ fence: LeaderFence, now: Timestamp, limit: Int) async throws(StoreError) -> [TicketID] {
        try await StoreError.mapping("expire leases") {
            try await database.pool.write { db in
                try fence.check(db, now: now)
                let rows = try Row.fetchAll(db, sql: TicketRows.expiredSQL, arguments: [now.milliseconds, limit])
                var expired: [TicketID] = []
                for row in rows {
                    guard let id = row.ticketID("id") else { continue }
                    _ = try TicketRows.finishAttempt(
                        db, seq: row["seq"], jobID: row["job_id"], attempt: row["attempt"], maxAttempts: row["max_attempts"],
                        cancelRequested: row["cancel_requested"], outcome: .leaseExpired, status: nil, output: nil,
                        retry: RetryPolicy(), now: now)
                    expired.append(id)
                }
                return expired
            }
        }
    }

    public func enforceDeadlines(_ fence: LeaderFence, now: Timestamp) async throws(StoreError) -> Int {
        try await StoreError.mapping("enforce deadlines") {
            try await database.pool.write { db in
                try fence.check(db, now: now)
                return try TicketRows.misfire(db, now: now)
            }
        }
    }

    public func cancellationsRequested() async throws(StoreError) -> [(TicketID, executor: String)] {
        try await StoreError.mapping("cancellations") {
            try await database.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, executor FROM ticket
                        WHERE \(TicketPredicate.running) AND cancel_requested = 1 AND executor IS NOT NULL
                        """
                ).compactMap { row -> (TicketID, executor: String)? in
                    guard let id = row.ticketID("id") else { return nil }
                    return (id, executor: row["executor"])
                }
            }
        }
    }
}

extension SQLiteSchedulerStore {
    public func releaseParked(_ fence: LeaderFence, now: Timestamp) async throws(StoreError) -> (released: [ParkedJob], stillParked: Int) {
        try await StoreError.mapping("release parked jobs") {
            try await database.pool.write { db in
                try fence.check(db, now: now)
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT seq, id, name, revision, spec, created_at FROM job
                        WHERE parked_revision IS NOT NULL AND parked_revision = revision AND deleted_at IS NULL
                        """)
                var released: [ParkedJob] = []
                for row in rows {
                    guard (try? TickInputs.plannable(row["spec"], createdAt: row.requiredTimestamp("created_at"))) != nil else { continue }
                    // Due at once: the tick plans it from its watermark, like a job after downtime (catch-up applies).
                    try db.execute(
                        sql: """
                            UPDATE job SET parked_revision = NULL, parked_reason = NULL,
                                due_at = CASE WHEN state = 'active' THEN ? END
                            WHERE seq = ?
                            """,
                        arguments: [now.milliseconds, row["seq"] as Int64])
                    released.append(ParkedJob(id: JobID(rawValue: row["id"]), name: row["name"], revision: row["revision"], reason: ""))
                }
                return (released, rows.count - released.count)
            }
        }
    }

    public func parkedJobCount() async throws(StoreError) -> Int {
        try await StoreError.mapping("parked job count") {
            try await database.read { db in
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM job INDEXED BY job_parked
                        WHERE parked_revision IS NOT NULL AND parked_revision = revision AND deleted_at IS NULL
                        """) ?? 0
            }
        }
    }
}
