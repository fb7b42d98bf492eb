import BatonCore
import BatonSQLite
import BatonStore
import Foundation
import GRDB

/// Per-ticket times (integer milliseconds) a benchmark turns into latency figures.
public struct TicketTimes: Sendable {
    public var slot: Int64
    public var notBefore: Int64
    public var createdAt: Int64
    public var startedAt: Int64?
    public var finishedAt: Int64?
    public var epoch: Int64?
}

/// What a benchmark checks after a run: every ticket's fate, and the duplicates that must never exist.
public struct TicketCensus: Sendable, Equatable {
    public var byState: [String: Int] = [:]
    /// (job, slot) pairs with more than one scheduled ticket. The unique ticket id makes this impossible by construction;
    /// the benchmark counts it anyway, because that is the guarantee it reports on.
    public var duplicateSlots = 0
    /// Tickets with more than one started attempt (each attempt is one run of the action).
    public var ticketsRunMoreThanOnce = 0
    /// Tickets with more than one succeeded attempt.
    public var ticketsSucceededMoreThanOnce = 0
    public var total: Int { byState.values.reduce(0, +) }
    public func count(_ state: TicketState) -> Int { byState[state.rawValue] ?? 0 }
}

/// Seeding and read-outs for `baton bench`, on the same schema and SQL helpers the product uses, so a benchmark
/// writes exactly what the gateway or the leader would (no shortcuts that skip an index or a constraint).
/// Not used by any role at run time.
public struct SQLiteBenchmarkStore: BenchmarkStore {
    let database: BatonDatabase

    public init(_ database: BatonDatabase) { self.database = database }

    /// Creates jobs in batches of `batch` per transaction (the gateway's `create`, minus one round trip per job).
    public func createJobs(_ specs: [JobSpec], now: Timestamp, batch: Int = 2000) async throws(StoreError) -> [JobID] {
        var ids: [JobID] = []
        ids.reserveCapacity(specs.count)
        var start = 0
        while start < specs.count {
            let chunk = Array(specs[start..<min(specs.count, start + batch)])
            let created = try await StoreError.mapping("create jobs") {
                try await database.pool.write { db in
                    try chunk.map { spec in try JobRows.insert(db, spec: spec, now: now).id }
                }
            }
            ids += created
            start += batch
        }
        return ids
    }

    /// Writes `count` manual tickets (with their idempotency keys, as `trigger` does) spread round-robin over
    /// `jobNames`, `batch` per transaction. Returns when the last transaction has committed.
    /// - Parameter dueAt: when the tickets become claimable (default: as each is written, like a trigger).
    public func triggerMany(
        jobNames: [String], count: Int, batch: Int = 5000, dueAt: Timestamp? = nil, clock: any WallClock
    ) async throws(StoreError) {
        var written = 0
        while written < count {
            let size = min(batch, count - written)
            let offset = written
            try await StoreError.mapping("trigger many") {
                try await database.pool.write { db in
                    var jobs: [Job] = []
                    for name in jobNames {
                        guard let job = try JobRows.live(db, name: name, specs: database.caches.specs) else {
                            throw StoreError(.notFound, "no job named \"\(name)\"")
                        }
                        jobs.append(job)
                    }
                    let now = clock.now()
                    let keyInsert = try db.cachedStatement(
                        sql: "INSERT INTO idempotency_key (job_id, key, ticket_id, created_at) VALUES (?, ?, ?, ?)")
                    for index in offset..<(offset + size) {
                        let job = jobs[index % jobs.count]
                        let key = "bench-\(index)"
                        let ticket = NewTicket.manual(job: job, idempotencyKey: key, now: now, notBefore: dueAt)
                        _ = try TicketRows.insert(db, ticket, now: now)
                        try keyInsert.execute(arguments: [job.id.rawValue, key, Codec.blob(ticket.id), now.milliseconds])
                    }
                }
            }
            written += size
        }
    }

    /// Tickets not yet final (pending, retrying, running): cheap, it reads the partial queue indexes.
    public func unfinishedCount() async throws(StoreError) -> Int {
        try await StoreError.mapping("unfinished count") {
            try await database.read { db in
                let queued = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ticket WHERE \(TicketPredicate.claimable)") ?? 0
                let running = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ticket WHERE \(TicketPredicate.running)") ?? 0
                return queued + running
            }
        }
    }

    /// Unfinished tickets due before `instant` (reads only the partial queue indexes).
    public func unfinishedCount(dueBefore instant: Timestamp) async throws(StoreError) -> Int {
        try await StoreError.mapping("unfinished count") {
            try await database.read { db in
                let queued =
                    try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM ticket WHERE \(TicketPredicate.claimable) AND not_before < ?",
                        arguments: [instant.milliseconds]) ?? 0
                let running =
                    try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM ticket WHERE \(TicketPredicate.running) AND not_before < ?",
                        arguments: [instant.milliseconds]) ?? 0
                return queued + running
            }
        }
    }

    /// Tickets (manual ones included) created at or after `since`, with their times.
    public func ticketTimes(createdSince since: Timestamp) async throws(StoreError) -> [TicketTimes] {
        try await StoreError.mapping("ticket times") {
            try await database.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT slot, not_before, created_at, started_at, finished_at, epoch FROM ticket
                        WHERE created_at >= ? ORDER BY seq
                        """,
                    arguments: [since.milliseconds]
                ).map { row in
                    TicketTimes(
                        slot: row["slot"], notBefore: row["not_before"], createdAt: row["created_at"], startedAt: row["started_at"],
                        finishedAt: row["finished_at"], epoch: row["epoch"])
                }
            }
        }
    }

    /// Per scheduled slot: how many tickets were written for it, and the first and last write instant (created_at).
    public func slotWrites(since: Timestamp) async throws(StoreError) -> [(slot: Int64, tickets: Int, firstWrite: Int64, lastWrite: Int64)] {
        try await StoreError.mapping("slot writes") {
            try await database.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT slot, COUNT(*) AS n, MIN(created_at) AS first, MAX(created_at) AS last FROM ticket
                        WHERE manual = 0 AND slot >= ? GROUP BY slot ORDER BY slot
                        """,
                    arguments: [since.milliseconds]
                ).map { row in (slot: row["slot"], tickets: row["n"], firstWrite: row["first"], lastWrite: row["last"]) }
            }
        }
    }

    /// The earliest `created_at` of a ticket written under an epoch above `epoch` (a later leader's first ticket).
    public func firstTicket(afterEpoch epoch: Int64) async throws(StoreError) -> Timestamp? {
        try await StoreError.mapping("first ticket of epoch") {
            try await database.read { db in
                Codec.timestamp(try Int64.fetchOne(db, sql: "SELECT MIN(created_at) FROM ticket WHERE epoch > ?", arguments: [epoch]))
            }
        }
    }

    /// Makes every pending ticket claimable at `instant`: the throughput benchmark writes its tickets due in the
    /// far future, then releases them all at one instant so that what it times is the pipeline, not the writing.
    public func releasePending(at instant: Timestamp) async throws(StoreError) {
        try await StoreError.mapping("release pending") {
            try await database.pool.write { db in
                try db.execute(
                    sql: "UPDATE ticket SET not_before = ? WHERE \(TicketPredicate.state(in: [.pending]))", arguments: [instant.milliseconds])
            }
        }
    }

    public func census() async throws(StoreError) -> TicketCensus {
        try await StoreError.mapping("census") {
            try await database.read { db in
                var census = TicketCensus()
                for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM ticket GROUP BY state") {
                    census.byState[row["state"]] = row["n"]
                }
                census.duplicateSlots =
                    try Int.fetchOne(
                        db,
                        sql: """
                            SELECT COUNT(*) FROM (SELECT 1 FROM ticket WHERE manual = 0
                                GROUP BY job_id, slot HAVING COUNT(*) > 1)
                            """) ?? 0
                census.ticketsRunMoreThanOnce =
                    try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM (SELECT 1 FROM attempt GROUP BY ticket_seq HAVING COUNT(*) > 1)") ?? 0
                census.ticketsSucceededMoreThanOnce =
                    try Int.fetchOne(
                        db,
                        sql: """
                            SELECT COUNT(*) FROM (SELECT 1 FROM attempt WHERE outcome = 'succeeded'
                                GROUP BY ticket_seq HAVING COUNT(*) > 1)
                            """) ?? 0
                return census
            }
        }
    }

    /// Gives every job `perJob` finished (succeeded) tickets, one slot a minute back from `now`, as the leader and
    /// executors would have left them: the same insert, so every index is maintained. `batch` tickets per transaction.
    public func fillHistory(_ jobs: [JobID], perJob: Int, now: Timestamp, batch: Int = 20_000) async throws(StoreError) {
        var start = 0
        let perTransaction = max(1, batch / max(1, perJob))
        while start < jobs.count {
            let chunk = Array(jobs[start..<min(jobs.count, start + perTransaction)])
            try await StoreError.mapping("fill history") {
                try await database.pool.write { db in
                    for id in chunk {
                        guard let job = try JobRows.byID(db, id, specs: database.caches.specs) else { throw StoreError(.notFound, "no job \(id)") }
                        let owner = TicketRows.Owner(job)
                        for index in 0..<perJob {
                            let slot = now - .minutes(Int64(perJob - index))
                            let ticket = NewTicket(
                                id: TicketID.scheduled(job: id, slot: slot), owner: owner, slot: slot, state: .succeeded,
                                epoch: 1, notBefore: slot)
                            _ = try TicketRows.insert(db, ticket, now: slot)
                        }
                    }
                }
            }
            start += chunk.count
        }
    }

    /// Checkpoints and truncates the WAL, as the leader's background checkpointer would have by now, so the first
    /// measured commit does not pay for the seeding's checkpoint.
    public func checkpoint() async throws(StoreError) {
        try await StoreError.mapping("checkpoint") {
            try await database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        }
    }

    /// How long the per-job cap held the write lock before it was made incremental: one transaction grouping every
    /// ticket by job, then deleting beyond the newest `perJob` of each crowded job. Rolled back, so the data stays
    /// for the incremental pass to be measured on.
    public func legacyPerJobPurge(perJob: Int) async throws(StoreError) -> (duration: Duration, deleted: Int) {
        try await StoreError.mapping("legacy purge") {
            try await database.pool.writeWithoutTransaction { db in
                var deleted = 0
                let start = ContinuousClock.now
                try db.inTransaction(.immediate) {
                    let crowded = try String.fetchAll(
                        db, sql: "SELECT job_id FROM ticket GROUP BY job_id HAVING COUNT(*) > ?", arguments: [perJob])
                    for jobID in crowded {
                        try db.execute(
                            sql: """
                                DELETE FROM ticket WHERE job_id = ? AND finished_at IS NOT NULL AND seq < (
                                    SELECT seq FROM ticket WHERE job_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)
                                """,
                            arguments: [jobID, jobID, perJob - 1])
                        deleted += db.changesCount
                    }
                    return .rollback
                }
                return (ContinuousClock.now - start, deleted)
            }
        }
    }
}
