import BatonCore
import BatonStore
import PostgresNIO

/// History retention in the same bounded, fenced steps as the SQLite store (``RetentionPhase``). PostgreSQL has no
/// single write lock to keep short, but the steps also bound how long one transaction holds row locks and how much
/// WAL it writes at once.
public struct PostgresRetentionStore: RetentionStore {
    let database: PostgresDatabase

    init(_ database: PostgresDatabase) { self.database = database }

    public func retentionStep(_ fence: LeaderFence, phase: RetentionPhase, rules: RetentionRules, now: Timestamp)
        async throws(StoreError) -> RetentionStepReport
    {
        let cutoff = (now - rules.retention).milliseconds
        let logger = database.logger
        switch phase {
        case .expiredTickets:
            let (deleted, took) = try await write(fence, now: now, "purge expired tickets") { connection in
                try await connection.query(
                    """
                    DELETE FROM ticket WHERE seq IN (
                        SELECT seq FROM ticket WHERE \(unescaped: TicketPredicate.finished) AND finished_at < \(cutoff)
                        LIMIT \(rules.batch))
                    RETURNING 1
                    """, logger: logger
                ).count()
            }
            return .expiredTickets(deleted: deleted, rules: rules, took: took)

        case .crowdedJobs(let after):
            // Read outside the write: which of the next jobs have more than `perJob` tickets, and the slot of their
            // `perJob`-th newest. A ticket written meanwhile is newer, so the finished tickets older than that slot
            // are still beyond the cap when they are deleted.
            let (examined, crowded) = try await database.read("find crowded jobs") { connection in
                let jobs = try await connection.query(
                    "SELECT seq, id FROM job WHERE seq > \(after) ORDER BY seq LIMIT \(rules.jobsPerStep)", logger: logger
                ).rows().map { (try $0.value("seq", Int64.self), try $0.value("id", String.self)) }
                var crowded: [CrowdedJob] = []
                for (seq, id) in jobs {
                    let slots = try await connection.query(
                        """
                        SELECT slot FROM ticket WHERE job_id = \(id) ORDER BY slot DESC LIMIT 2 OFFSET \(rules.perJob - 1)
                        """, logger: logger
                    ).rows().map { try $0.value("slot", Int64.self) }
                    // Crowded: a ticket beyond the newest `perJob` exists; keep from the `perJob`-th newest slot.
                    guard slots.count == 2, let keepFrom = slots.first else { continue }
                    crowded.append(CrowdedJob(seq: seq, job: id, keepFrom: keepFrom))
                }
                return (jobs.map(\.0), crowded)
            }
            var report = RetentionStepReport.crowdedJobsExamined(examined, rules: rules)
            guard !crowded.isEmpty else { return report }
            let ((deleted, outOfBudgetAt), took) = try await write(fence, now: now, "trim crowded jobs") { connection -> (Int, Int64?) in
                var budget = rules.batch
                for job in crowded {
                    budget -= try await connection.query(
                        """
                        DELETE FROM ticket WHERE seq IN (
                            SELECT seq FROM ticket WHERE job_id = \(job.job) AND slot < \(job.keepFrom)
                              AND \(unescaped: TicketPredicate.finished) LIMIT \(budget))
                        RETURNING 1
                        """, logger: logger
                    ).count()
                    if budget == 0 { return (rules.batch, job.seq) }
                }
                return (rules.batch - budget, nil)
            }
            report.trimmed(deleted, outOfBudgetAt: outOfBudgetAt, took: took)
            return report

        case .idempotencyKeys:
            let (deleted, took) = try await write(fence, now: now, "purge idempotency keys") { connection in
                try await connection.query(
                    """
                    DELETE FROM idempotency_key WHERE (job_id, key) IN (
                        SELECT job_id, key FROM idempotency_key WHERE created_at < \(cutoff) LIMIT \(rules.batch))
                    RETURNING 1
                    """, logger: logger
                ).count()
            }
            return .idempotencyKeys(deleted: deleted, rules: rules, took: took)

        case .revisions(let afterJob, let afterRevision):
            // Read outside the write. A revision that is no longer current never gets a new ticket (the tick and
            // triggers pin the current one inside their transaction), so one that no ticket references now never
            // will; the delete still re-checks that it is not current.
            let page = try await database.read("find stale revisions") { connection in
                try await connection.query(
                    """
                    SELECT r.job_id, r.revision,
                        r.created_at < \(cutoff) AND r.revision < j.revision
                          AND NOT EXISTS (SELECT 1 FROM ticket WHERE job_id = r.job_id AND revision = r.revision) AS stale
                    FROM job_revision AS r JOIN job AS j ON j.id = r.job_id
                    WHERE (r.job_id, r.revision) > (\(afterJob), \(afterRevision))
                    ORDER BY r.job_id, r.revision LIMIT \(rules.batch)
                    """, logger: logger
                ).rows().map { (try $0.value("job_id", String.self), try $0.value("revision", Int64.self), try $0.value("stale", Bool.self)) }
            }
            let stale = page.filter(\.2)
            var report = RetentionStepReport(next: nil)
            if !stale.isEmpty {
                (report.prunedRevisions, report.writeDuration) = try await write(fence, now: now, "prune job revisions") { connection in
                    try await connection.query(
                        """
                        DELETE FROM job_revision AS r USING unnest(\(stale.map(\.0))::text[], \(stale.map(\.1))::bigint[]) AS s(job_id, revision)
                        WHERE r.job_id = s.job_id AND r.revision = s.revision
                          AND r.revision < (SELECT revision FROM job WHERE id = s.job_id)
                        RETURNING 1
                        """, logger: logger
                    ).count()
                }
            }
            if page.count == rules.batch, let last = page.last {
                report.next = .revisions(afterJob: last.0, revision: last.1)
            }
            return report
        }
    }

    private struct CrowdedJob: Sendable {
        var seq: Int64
        var job: String
        var keepFrom: Int64
    }

    /// A fenced write transaction (a deposed leader's retention deletes nothing), and how long it took.
    private func write<T: Sendable>(
        _ fence: LeaderFence, now: Timestamp, _ operation: String, _ body: (PostgresConnection) async throws -> T
    ) async throws(StoreError) -> (T, Duration) {
        let start = ContinuousClock.now
        let result = try await database.fenced(fence, now: now, operation, body)
        return (result, ContinuousClock.now - start)
    }
}
