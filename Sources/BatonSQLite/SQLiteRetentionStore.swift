import BatonCore
import BatonStore
import Foundation
import GRDB

public struct SQLiteRetentionStore: RetentionStore {
    let database: BatonDatabase

    public init(_ database: BatonDatabase) { self.database = database }

    public func retentionStep(_ fence: LeaderFence, phase: RetentionPhase, rules: RetentionRules, now: Timestamp)
        async throws(StoreError) -> RetentionStepReport
    {
        let cutoff = (now - rules.retention).milliseconds
        switch phase {
        case .expiredTickets:
            let (deleted, took) = try await write(fence, now: now, "purge expired tickets") { db in
                try db.cachedStatement(
                    sql: """
                        DELETE FROM ticket WHERE seq IN (
                            SELECT seq FROM ticket WHERE \(TicketPredicate.finished) AND finished_at < ? LIMIT ?)
                        """
                ).execute(arguments: [cutoff, rules.batch])
                return db.changesCount
            }
            return .expiredTickets(deleted: deleted, rules: rules, took: took)

        case .crowdedJobs(let after):
            // Read without the write lock: which of the next jobs have more than `perJob` tickets, and the slot of
            // their `perJob`-th newest (an index-only walk of `ticket_job_slot`). A ticket written meanwhile is newer,
            // so the finished tickets older than that slot are still beyond the cap when they are deleted.
            let (examined, crowded) = try await StoreError.mapping("find crowded jobs") {
                try await database.read { db -> ([Int64], [(seq: Int64, job: String, keepFrom: Int64)]) in
                    let jobs = try Row.fetchAll(
                        db.cachedStatement(sql: "SELECT seq, id FROM job WHERE seq > ? ORDER BY seq LIMIT ?"),
                        arguments: [after, rules.jobsPerStep])
                    let nth = try db.cachedStatement(
                        sql: "SELECT slot FROM ticket WHERE job_id = ? ORDER BY slot DESC LIMIT 1 OFFSET ?")
                    var crowded: [(seq: Int64, job: String, keepFrom: Int64)] = []
                    for job in jobs {
                        let id: String = job["id"]
                        // A job is crowded when it has a ticket beyond the newest `perJob`.
                        guard try Int64.fetchOne(nth, arguments: [id, rules.perJob]) != nil,
                            let keepFrom = try Int64.fetchOne(nth, arguments: [id, rules.perJob - 1])
                        else { continue }
                        crowded.append((job["seq"], id, keepFrom))
                    }
                    return (jobs.map { $0["seq"] as Int64 }, crowded)
                }
            }
            var report = RetentionStepReport.crowdedJobsExamined(examined, rules: rules)
            guard !crowded.isEmpty else { return report }
            let ((deleted, outOfBudgetAt), took) = try await write(fence, now: now, "trim crowded jobs") { db -> (Int, Int64?) in
                let trim = try db.cachedStatement(
                    sql: """
                        DELETE FROM ticket WHERE seq IN (
                            SELECT seq FROM ticket WHERE job_id = ? AND slot < ? AND \(TicketPredicate.finished) LIMIT ?)
                        """)
                var budget = rules.batch
                for job in crowded {
                    try trim.execute(arguments: [job.job, job.keepFrom, budget])
                    budget -= db.changesCount
                    if budget == 0 { return (rules.batch, job.seq) }
                }
                return (rules.batch - budget, nil)
            }
            report.trimmed(deleted, outOfBudgetAt: outOfBudgetAt, took: took)
            return report

        case .idempotencyKeys:
            let (deleted, took) = try await write(fence, now: now, "purge idempotency keys") { db in
                try db.cachedStatement(
                    sql: """
                        DELETE FROM idempotency_key WHERE (job_id, key) IN (
                            SELECT job_id, key FROM idempotency_key WHERE created_at < ? LIMIT ?)
                        """
                ).execute(arguments: [cutoff, rules.batch])
                return db.changesCount
            }
            return .idempotencyKeys(deleted: deleted, rules: rules, took: took)

        case .revisions(let afterJob, let afterRevision):
            // Read without the write lock. A revision that is no longer current never gets a new ticket (the tick
            // and triggers pin the current one inside their transaction), so one that no ticket references now
            // never will; the delete still re-checks that it is not current.
            let (scanned, last, stale) = try await StoreError.mapping("find stale revisions") {
                try await database.read { db -> (Int, (String, Int64)?, [(String, Int64)]) in
                    let page = try Row.fetchAll(
                        db.cachedStatement(
                            sql: """
                                SELECT r.job_id, r.revision, r.created_at, j.revision AS current FROM job_revision AS r
                                JOIN job AS j ON j.id = r.job_id
                                WHERE (r.job_id, r.revision) > (?, ?) ORDER BY r.job_id, r.revision LIMIT ?
                                """),
                        arguments: [afterJob, afterRevision, rules.batch])
                    let referenced = try db.cachedStatement(
                        sql: "SELECT EXISTS (SELECT 1 FROM ticket WHERE job_id = ? AND revision = ?)")
                    var stale: [(String, Int64)] = []
                    for row in page {
                        let job: String = row["job_id"]
                        let revision: Int64 = row["revision"]
                        guard (row["created_at"] as Int64) < cutoff, revision < (row["current"] as Int64),
                            try Bool.fetchOne(referenced, arguments: [job, revision]) == false
                        else { continue }
                        stale.append((job, revision))
                    }
                    let last = page.last.map { ($0["job_id"] as String, $0["revision"] as Int64) }
                    return (page.count, last, stale)
                }
            }
            var report = RetentionStepReport(next: nil)
            if !stale.isEmpty {
                (report.prunedRevisions, report.writeDuration) = try await write(fence, now: now, "prune job revisions") { db in
                    let prune = try db.cachedStatement(
                        sql: """
                            DELETE FROM job_revision WHERE job_id = ? AND revision = ?
                              AND revision < (SELECT revision FROM job WHERE id = ?)
                            """)
                    var pruned = 0
                    for (job, revision) in stale {
                        try prune.execute(arguments: [job, revision, job])
                        pruned += db.changesCount
                    }
                    return pruned
                }
            }
            if scanned == rules.batch, let last {
                report.next = .revisions(afterJob: last.0, revision: last.1)
            }
            return report
        }
    }

    /// A fenced write transaction (a deposed leader's retention deletes nothing), and how long it took.
    func write<T: Sendable>(
        _ fence: LeaderFence, now: Timestamp, _ operation: String, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(StoreError) -> (T, Duration) {
        // Retention is the one writer that can go on for thousands of transactions without a pause, and the WAL only
        // starts over when a write begins with every frame copied back: without this wait it grew to the backstop
        // every ~65 steps, whose commit then checkpointed for 300+ ms (WALCheckpointer). Retention can wait; if the
        // copy takes longer than this (another process keeps writing), it writes anyway.
        _ = await database.checkpointer.waitUntilCopied(timeout: .seconds(1))
        let start = ContinuousClock.now
        let result = try await StoreError.mapping(operation) {
            try await database.pool.write { db in
                try fence.check(db, now: now)
                return try body(db)
            }
        }
        return (result, ContinuousClock.now - start)
    }
}
