import BatonCore
import BatonStore
import Foundation
import GRDB
import Synchronization

public struct SQLiteSchedulerStore: SchedulerStore {
    let database: BatonDatabase
    private var tickInputs: TickInputsCache { database.caches.tickInputs }

    public init(_ database: BatonDatabase) { self.database = database }

    public func tick(_ fence: LeaderFence, now: Timestamp, lookahead: TimeSpan, limit: Int) async throws(StoreError) -> TickReport {
        try await StoreError.mapping("tick") {
            try await database.pool.write { db in
                try fence.check(db, now: now)
                var report = TickReport()
                struct DueJob {
                    var seq: Int64
                    var id: JobID
                    var name: String
                    var revision: Int64
                    var state: JobState
                    var createdAt: Timestamp
                    var watermark: Timestamp
                    var nextFireAt: Timestamp?
                    var unrecordedSkips: Int
                }
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
                for row in due {
                    report.jobsExamined += 1
                    let inputs: TickInputs
                    do {
                        inputs = try tickInputs.value(seq: row.seq, revision: row.revision) {
                            guard let json = try String.fetchOne(db, sql: "SELECT spec FROM job WHERE seq = ?", arguments: [row.seq])
                            else { throw StoreError(.corrupt, "job \(row.id) vanished during the tick") }
                            return try Self.plannable(json, createdAt: row.createdAt)
                        }
                    } catch let unplannable as Unplannable {
                        // One job this build cannot plan must not stop every other job's tick (this transaction):
                        // park it, visibly, and go on.
                        try db.cachedStatement(
                            sql: "UPDATE job SET due_at = NULL, parked_revision = revision, parked_reason = ? WHERE seq = ?"
                        ).execute(arguments: [unplannable.reason, row.seq])
                        report.parked.append(ParkedJob(id: row.id, name: row.name, revision: row.revision, reason: unplannable.reason))
                        continue
                    }
                    let job = TickPlanner.Subject(
                        id: row.id, state: row.state, watermark: row.watermark, nextFireAt: row.nextFireAt, policy: inputs.policy,
                        unrecordedSkips: row.unrecordedSkips)
                    let schedule = inputs.schedule
                    let owner = TicketRows.Owner(
                        jobID: row.id, name: row.name, revision: row.revision, queue: inputs.queue,
                        maxAttempts: inputs.policy.retry.maxAttempts)
                    // Only catch-up all + overlap forbid needs how many (its queue is bounded); a count costs more.
                    let unfinished = inputs.policy.catchup == .all && inputs.policy.overlap == .forbid
                        ? try TicketRows.unfinishedCount(db, jobID: job.id, upTo: TickPlanner.queueLimit)
                        : (try TicketRows.hasUnfinished(db, jobID: job.id) ? 1 : 0)
                    let plan = TickPlanner.plan(job, schedule: schedule, unfinished: unfinished, now: now, lookahead: lookahead)
                    if plan.cancelUnfinished {
                        try TicketRows.cancelUnfinished(db, jobID: job.id, reason: .replaced, now: now)
                    }
                    var last: TicketID?
                    for planned in plan.tickets {
                        let inserted = try TicketRows.insert(db, NewTicket(planned, owner: owner, epoch: fence.epoch), now: now)
                        guard inserted else {
                            report.duplicates += 1
                            continue
                        }
                        last = planned.id
                        report.byJob[row.name, default: JobTicketCounts()].count(planned.state)
                        if planned.state == .pending {
                            report.written.append(
                                DueTicket(
                                    seq: db.lastInsertedRowID, id: planned.id, jobID: job.id, slot: planned.slot, epoch: fence.epoch,
                                    queue: inputs.queue, notBefore: planned.notBefore))
                        } else {
                            report.skipped += 1
                        }
                    }
                    report.unrecordedSkips += plan.unrecordedSkips
                    if plan.unrecordedSkips > 0 { report.byJob[row.name, default: JobTicketCounts()].unrecorded += plan.unrecordedSkips }
                    try db.cachedStatement(
                        sql: """
                            UPDATE job SET watermark = ?, next_fire_at = ?, due_at = ?, state = ?,
                                last_ticket = COALESCE(?, last_ticket), catchup_unrecorded = ?
                            WHERE seq = ?
                            """
                    ).execute(
                        arguments: [
                            plan.watermark.milliseconds, plan.nextFireAt?.milliseconds, plan.dueAt?.milliseconds,
                            plan.state.rawValue, last.map(Codec.blob), plan.carriedSkips, row.seq,
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

/// Why the scheduler cannot plan a job revision; the tick parks that job with this reason.
struct Unplannable: Error {
    var reason: String
}

extension SQLiteSchedulerStore {
    /// A stored spec read and its schedule resolved, or why this build cannot.
    static func plannable(_ json: String, createdAt: Timestamp) throws(Unplannable) -> (JobSpec, Schedule) {
        let spec: JobSpec
        do {
            spec = try Codec.spec(json)
        } catch {
            throw Unplannable(reason: error.message)
        }
        do {
            return (spec, try Schedule(spec.schedule, createdAt: createdAt))
        } catch {
            let field = error.code == .unknownTimeZone ? "schedule.timezone" : "schedule.cron"
            throw Unplannable(reason: "this scheduler cannot evaluate the stored schedule: \(field): \(error.message)")
        }
    }

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
                    guard (try? Self.plannable(row["spec"], createdAt: row.requiredTimestamp("created_at"))) != nil else { continue }
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

/// The tick's view of one job revision: resolved schedule, policy and queue.
final class TickInputs: Sendable {
    let schedule: Schedule
    let policy: JobPolicy
    let queue: String

    init(schedule: Schedule, policy: JobPolicy, queue: String) {
        self.schedule = schedule
        self.policy = policy
        self.queue = queue
    }
}

/// (job row, revision) → ``TickInputs``, with identical inputs shared: 100,000 jobs `* * * * *` with the default
/// policy hold one ``TickInputs`` between them. A revision never changes, so an entry never goes stale.
final class TickInputsCache: Sendable {
    struct Key: Hashable, Sendable {
        var seq: Int64
        var revision: Int64
    }

    /// Everything a resolved schedule depends on, plus policy and queue.
    struct Content: Hashable, Sendable {
        var schedule: ScheduleSpec
        /// The job's creation time when an `every` schedule has no anchor (it anchors there), else nil.
        var anchor: Timestamp?
        var policy: JobPolicy
        var queue: String
    }

    private let byRevision: BoundedCache<Key, TickInputs>
    private let interned: BoundedCache<Content, TickInputs>

    init(limit: Int) {
        byRevision = BoundedCache(limit: limit)
        interned = BoundedCache(limit: limit)
    }

    func value(seq: Int64, revision: Int64, load: () throws -> (JobSpec, Schedule)) throws -> TickInputs {
        let key = Key(seq: seq, revision: revision)
        if let hit = byRevision[key] { return hit }
        let (spec, schedule) = try load()
        var anchor: Timestamp?
        if case .every = spec.schedule.kind, spec.schedule.anchor == nil, case .every(_, let at) = schedule.rule { anchor = at }
        let content = Content(schedule: spec.schedule, anchor: anchor, policy: spec.policy, queue: spec.queue)
        let shared = interned.value(for: content) { TickInputs(schedule: schedule, policy: spec.policy, queue: spec.queue) }
        byRevision.insert(shared, for: key)
        return shared
    }
}
