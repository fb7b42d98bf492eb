import BatonCore
import BatonPostgresTestSupport
import BatonSQLite
import BatonStore
import BatonTestSupport
import Foundation
import GRDB
import Testing

/// The backends the end-to-end suites run on (issue 14, item 5): every suite whose subject is the cluster's
/// behaviour (duplicates, failover, stalls, catch-up, crash loops, malformed frames, parking) takes one as its
/// test argument, so both run the same test.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// One test's database on either backend: the `BATON_DB` value its `baton` processes are given, the stores the test
/// reads and writes through (as another process on the same database), and the few raw queries for invariants the
/// store API does not expose. Released with the test: the SQLite file goes with the workspace, the PostgreSQL
/// database is dropped.
final class TestDatabase {
    let backend: Backend
    /// What `BATON_DB` says: the SQLite file's path, or the PostgreSQL URL.
    let url: String
    let stores: Stores
    /// The PostgreSQL database, on that backend: it drops the database when released.
    private let postgres: TemporaryPostgres?

    init(_ backend: Backend, workspace: Workspace) async throws {
        self.backend = backend
        switch backend {
        case .sqlite:
            let database = try BatonDatabase(StoreConfiguration(path: workspace.databasePath))
            try database.migrate()
            url = workspace.databasePath
            stores = .sqlite(database)
            postgres = nil
        case .postgres:
            let database = try await TemporaryPostgres()
            url = database.url
            stores = database.backend.stores
            postgres = database
        }
    }

    var jobs: any JobStore { stores.jobs }
    var tickets: any TicketStore { stores.tickets }
    var leases: any LeaderLeaseStore { stores.leases }
    var nodes: any NodeStore { stores.nodes }

    /// Scheduled (non-manual) slots that have more than one ticket, across all jobs. Must be empty (CONTRACT §10.1).
    func duplicateSlots() async throws -> [String] {
        let scheduled = try await tickets.all(TicketFilter()).filter { !$0.manual }
        return Dictionary(grouping: scheduled) { "\($0.jobName) @ \($0.slot)" }
            .filter { $0.value.count > 1 }
            .map { "\($0.key) ×\($0.value.count)" }
            .sorted()
    }

    /// Tickets of the deposed `epoch` committed after the first ticket of `successor`: stale writes, which fencing
    /// must make impossible. Row order is the ticket's row key (`seq`), the same column on both backends.
    func ticketsWritten(epoch: Int64, after successor: Int64) async throws -> Int64 {
        try await scalar(
            "SELECT COUNT(*) FROM ticket WHERE epoch = \(epoch) AND seq > (SELECT MIN(seq) FROM ticket WHERE epoch = \(successor))") ?? -1
    }

    /// A ticket's claim expiry (database milliseconds), which no store read returns.
    func claimExpiry(_ id: TicketID) async throws -> Int64? {
        let hex = id.hex
        let literal = backend == .sqlite ? "X'\(hex)'" : "'\\x\(hex)'::bytea"
        return try await scalar("SELECT lease_expires_at FROM ticket WHERE id = \(literal)")
    }

    /// Overwrites every stored revision of `jobName`'s spec with `json`, as a newer build (or a damaged row) leaves it:
    /// no store method can write a spec this build cannot read.
    func storeRawSpec(jobName: String, json: String) async throws {
        switch backend {
        case .sqlite:
            let queue = try DatabaseQueue(path: url)
            try await queue.write { db in
                try db.execute(sql: "UPDATE job SET spec = ? WHERE name = ?", arguments: [json, jobName])
                try db.execute(
                    sql: "UPDATE job_revision SET spec = ? WHERE job_id = (SELECT id FROM job WHERE name = ?)", arguments: [json, jobName])
            }
        case .postgres:
            let job = try #require(try await jobs.job(named: jobName))
            try await #require(postgres).storeRawSpec(jobID: job.id, revision: job.revision, json: json)
        }
    }

    /// Whether no other connection is inside a transaction that holds the write side of the database: SQLite's write
    /// lock is free, or no PostgreSQL session holds a lock on the lease row, the one a takeover must update. A process
    /// frozen while holding either stalls the others until it resumes (or, on PostgreSQL, until the server's
    /// `idle_in_transaction_session_timeout` ends its session): a property of the storage, not of the lease.
    func writeSideIsFree() async throws -> Bool {
        switch backend {
        case .sqlite:
            var configuration = Configuration()
            configuration.busyMode = .timeout(0.2)
            guard let queue = try? DatabaseQueue(path: url, configuration: configuration) else { return false }
            return (try? queue.inTransaction(.immediate) { _ in .rollback }) != nil
        case .postgres:
            let holders = try await scalar(
                """
                SELECT COUNT(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                WHERE c.relname = 'leader_lease' AND l.pid <> pg_backend_pid()
                """)
            return holders == 0
        }
    }

    /// `PRAGMA integrity_check` on SQLite (`["ok"]` for a sound file, whatever processes were killed while writing);
    /// nil on PostgreSQL, whose files no `baton` process writes.
    func integrityCheck() throws -> [String]? {
        guard backend == .sqlite else { return nil }
        return try readOnlyQueue().read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    /// The SQLite file opened read-only, waiting up to 10 s for a writer: for checks beside the running processes.
    private func readOnlyQueue() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        return try DatabaseQueue(path: url, configuration: configuration)
    }

    private func scalar(_ sql: String) async throws -> Int64? {
        switch backend {
        case .sqlite:
            return try await readOnlyQueue().read { db in try Int64.fetchOne(db, sql: sql) }
        case .postgres:
            return try await #require(postgres).scalar(sql)
        }
    }
}
