import BatonCore
import BatonPostgres
import BatonStore
import Foundation
import PostgresNIO

/// ``SQLiteBenchmarkStore``'s counterpart on PostgreSQL, writing through the backend's own row helpers
/// (`PostgresTicketRows.insertMany`, the job store's insert), so a benchmark writes exactly what the product writes.
/// Seeding runs up to four transactions at once on the pool. Not used by any role at run time.
struct PostgresBenchmarkStore: BenchmarkStore {
    let backend: PostgresBackend
    private var database: BatonPostgres.PostgresDatabase { backend.database }

    /// Transactions the seeding runs at once.
    static let parallelism = 4

    func createJobs(_ specs: [JobSpec], now: Timestamp, batch: Int) async throws(StoreError) -> [JobID] {
        let jobs = PostgresJobStore(database)
        let chunks = stride(from: 0, to: specs.count, by: batch).map { Array(specs[$0..<min(specs.count, $0 + batch)]) }
        let created = try await inParallel(chunks) { chunk throws(StoreError) in try await jobs.createMany(chunk, now: now) }
        return created.flatMap { $0 }
    }

    func triggerMany(jobNames: [String], count: Int, batch: Int, dueAt: Timestamp?, clock: any WallClock) async throws(StoreError) {
        var found: [Job] = []
        for name in jobNames {
            guard let job = try await backend.stores.jobs.job(named: name) else { throw StoreError(.notFound, "no job named \"\(name)\"") }
            found.append(job)
        }
        let jobs = found
        let ranges = stride(from: 0, to: count, by: batch).map { $0..<min(count, $0 + batch) }
        _ = try await inParallel(ranges) { range throws(StoreError) in
            try await database.transaction("trigger many") { connection in
                let now = clock.now()
                var tickets: [NewTicketRow] = []
                tickets.reserveCapacity(range.count)
                for index in range {
                    var ticket = NewTicketRow(manual: jobs[index % jobs.count], idempotencyKey: "bench-\(index)", now: now)
                    if let dueAt { ticket.notBefore = dueAt }
                    tickets.append(ticket)
                }
                _ = try await PostgresTicketRows.insertMany(connection, tickets, now: now, logger: database.logger)
                try await connection.query(
                    """
                    INSERT INTO idempotency_key (job_id, key, ticket_id, created_at)
                    SELECT k.job_id, k.key, k.ticket_id, \(now.milliseconds)
                    FROM unnest(\(tickets.map(\.jobID.rawValue))::text[], \(tickets.map { $0.idempotencyKey ?? "" })::text[],
                                \(tickets.map { PostgresCodec.bytes($0.id) })::bytea[]) AS k(job_id, key, ticket_id)
                    """, logger: database.logger)
                return range.count
            }
        }
    }

    func unfinishedCount() async throws(StoreError) -> Int {
        try await count("SELECT (SELECT count(*) FROM ticket WHERE \(TicketPredicate.claimable)) + (SELECT count(*) FROM ticket WHERE \(TicketPredicate.running))")
    }

    func unfinishedCount(dueBefore instant: Timestamp) async throws(StoreError) -> Int {
        let before = instant.milliseconds
        return try await count(
            """
            SELECT (SELECT count(*) FROM ticket WHERE \(TicketPredicate.claimable) AND not_before < \(before))
                 + (SELECT count(*) FROM ticket WHERE \(TicketPredicate.running) AND not_before < \(before))
            """)
    }

    func ticketTimes(createdSince since: Timestamp) async throws(StoreError) -> [TicketTimes] {
        try await database.read("ticket times") { connection in
            try await connection.query(
                """
                SELECT slot, not_before, created_at, started_at, finished_at, epoch FROM ticket
                WHERE created_at >= \(since.milliseconds) ORDER BY seq
                """, logger: database.logger
            ).collect().map { row in
                let (slot, notBefore, createdAt, startedAt, finishedAt, epoch) = try row.decode(
                    (Int64, Int64, Int64, Int64?, Int64?, Int64?).self)
                return TicketTimes(
                    slot: slot, notBefore: notBefore, createdAt: createdAt, startedAt: startedAt, finishedAt: finishedAt, epoch: epoch)
            }
        }
    }

    func slotWrites(since: Timestamp) async throws(StoreError) -> [(slot: Int64, tickets: Int, firstWrite: Int64, lastWrite: Int64)] {
        try await database.read("slot writes") { connection in
            try await connection.query(
                """
                SELECT slot, count(*), min(created_at), max(created_at) FROM ticket
                WHERE NOT manual AND slot >= \(since.milliseconds) GROUP BY slot ORDER BY slot
                """, logger: database.logger
            ).collect().map { row in
                let (slot, tickets, first, last) = try row.decode((Int64, Int64, Int64, Int64).self)
                return (slot: slot, tickets: Int(tickets), firstWrite: first, lastWrite: last)
            }
        }
    }

    func firstTicket(afterEpoch epoch: Int64) async throws(StoreError) -> Timestamp? {
        let first = try await database.read("first ticket of epoch") { connection in
            try await connection.query("SELECT min(created_at) FROM ticket WHERE epoch > \(epoch)", logger: database.logger)
                .collect().first?.decode(Int64?.self)
        }
        return first.flatMap { $0 }.map(Timestamp.init(milliseconds:))
    }

    func releasePending(at instant: Timestamp) async throws(StoreError) {
        _ = try await database.transaction("release pending") { connection in
            try await connection.query(
                "UPDATE ticket SET not_before = \(instant.milliseconds) WHERE \(unescaped: TicketPredicate.state(in: [.pending]))",
                logger: database.logger)
        }
    }

    func census() async throws(StoreError) -> TicketCensus {
        var census = TicketCensus()
        let states = try await database.read("census") { connection in
            try await connection.query("SELECT state, count(*) FROM ticket GROUP BY state", logger: database.logger)
                .collect().map { try $0.decode((String, Int64).self) }
        }
        for (state, n) in states { census.byState[state] = Int(n) }
        census.duplicateSlots = try await count(
            "SELECT count(*) FROM (SELECT 1 FROM ticket WHERE NOT manual GROUP BY job_id, slot HAVING count(*) > 1) AS d")
        census.ticketsRunMoreThanOnce = try await count(
            "SELECT count(*) FROM (SELECT 1 FROM attempt GROUP BY ticket_seq HAVING count(*) > 1) AS d")
        census.ticketsSucceededMoreThanOnce = try await count(
            "SELECT count(*) FROM (SELECT 1 FROM attempt WHERE outcome = 'succeeded' GROUP BY ticket_seq HAVING count(*) > 1) AS d")
        return census
    }

    /// One integer from `sql`, the benchmark's own text.
    private func count(_ sql: String) async throws(StoreError) -> Int {
        try await database.read("count") { connection in
            Int(try await connection.query(PostgresQuery(unsafeSQL: sql), logger: database.logger).collect().first?.decode(Int64.self) ?? 0)
        }
    }

    /// Runs `body` on every element, at most ``parallelism`` at once; results in input order.
    private func inParallel<Element: Sendable, Result: Sendable>(
        _ elements: [Element], _ body: @escaping @Sendable (Element) async throws(StoreError) -> Result
    ) async throws(StoreError) -> [Result] {
        do {
            return try await withThrowingTaskGroup(of: (Int, Result).self) { group in
                var results: [Result?] = Array(repeating: nil, count: elements.count)
                var next = 0
                func add() {
                    let index = next
                    let element = elements[index]
                    group.addTask { (index, try await body(element)) }
                    next += 1
                }
                while next < min(Self.parallelism, elements.count) { add() }
                while let (index, result) = try await group.next() {
                    results[index] = result
                    if next < elements.count { add() }
                }
                return results.compactMap { $0 }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.internal, "\(error)")
        }
    }
}
