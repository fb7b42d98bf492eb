import BatonCore
import BatonSQLite
import BatonStore

/// Seeding and read-outs a benchmark needs beyond the store protocols, on each backend with the product's own row
/// helpers: ``SQLiteBenchmarkStore`` and ``PostgresBenchmarkStore``.
protocol BenchmarkStore: Sendable {
    /// Creates jobs as the gateway's `create` would, many per transaction.
    func createJobs(_ specs: [JobSpec], now: Timestamp, batch: Int) async throws(StoreError) -> [JobID]
    /// Writes `count` manual tickets with their idempotency keys, as `trigger` does, spread round-robin over `jobNames`,
    /// `batch` per transaction; `dueAt` makes them claimable at that instant instead of as written.
    func triggerMany(jobNames: [String], count: Int, batch: Int, dueAt: Timestamp?, clock: any WallClock) async throws(StoreError)
    /// Tickets not yet final (pending, retrying, running).
    func unfinishedCount() async throws(StoreError) -> Int
    /// Unfinished tickets due before `instant`.
    func unfinishedCount(dueBefore instant: Timestamp) async throws(StoreError) -> Int
    /// Tickets (manual ones included) created at or after `since`, with their times, in row order.
    func ticketTimes(createdSince since: Timestamp) async throws(StoreError) -> [TicketTimes]
    /// Per scheduled slot: how many tickets were written for it, and the first and last write instant.
    func slotWrites(since: Timestamp) async throws(StoreError) -> [(slot: Int64, tickets: Int, firstWrite: Int64, lastWrite: Int64)]
    /// The earliest `created_at` of a ticket written under an epoch above `epoch`.
    func firstTicket(afterEpoch epoch: Int64) async throws(StoreError) -> Timestamp?
    /// Makes every pending ticket claimable at `instant`.
    func releasePending(at instant: Timestamp) async throws(StoreError)
    func census() async throws(StoreError) -> TicketCensus
}

extension BenchmarkStore {
    func createJobs(_ specs: [JobSpec], now: Timestamp) async throws(StoreError) -> [JobID] {
        try await createJobs(specs, now: now, batch: 2000)
    }

    func triggerMany(jobNames: [String], count: Int, dueAt: Timestamp? = nil, clock: any WallClock) async throws(StoreError) {
        try await triggerMany(jobNames: jobNames, count: count, batch: 5000, dueAt: dueAt, clock: clock)
    }
}

/// The benchmark's database opened in the benchmark process: the stores (as any other process would open them) and
/// the seeding helpers.
struct BenchDatabase {
    let stores: Stores
    let bench: any BenchmarkStore
    /// The SQLite database, for the benchmarks that only exist there (`purge`); nil on PostgreSQL.
    let sqlite: BatonDatabase?
}
