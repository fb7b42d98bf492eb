import BatonCore
import Foundation
import GRDB
import Testing

@testable import BatonSQLite
import BatonStore

@Suite("History retention in steps, revision pruning, the history index")
struct RetentionAndIndexTests {
    let t0 = StoreFixture.t0

    /// Runs one retention pass to its end, returning every step's report.
    func pass(_ store: StoreFixture, _ fence: LeaderFence, rules: RetentionRules, now: Timestamp) async throws -> [RetentionStepReport] {
        var reports: [RetentionStepReport] = []
        var phase: RetentionPhase? = .start
        while let current = phase {
            let report = try await SQLiteRetentionStore(store.database).retentionStep(fence, phase: current, rules: rules, now: now)
            reports.append(report)
            phase = report.next
            if reports.count > 1000 { Issue.record("the pass does not end"); break }
        }
        return reports
    }

    func plan(_ store: StoreFixture, _ sql: String, _ arguments: StatementArguments) async throws -> [String] {
        try await store.database.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
        }
    }

    @Test func theHistoryOfOneJobIsReadFromTheJobNameIndex() async throws {
        let store = try StoreFixture()
        for filter in [TicketFilter(jobName: "a"), TicketFilter(jobName: "a", state: .succeeded, since: t0)] {
            for cursor in [nil, "12345"] {
                let (sql, arguments) = try SQLiteTicketStore.listQuery(filter, limit: 100, cursor: cursor)
                let details = try await plan(store, sql, arguments)
                #expect(details.contains { $0.contains("USING INDEX ticket_job_name (job_name=?") }, "\(details)")
                #expect(!details.contains { $0.contains("TEMP B-TREE") || $0.hasPrefix("SCAN ticket") }, "\(details)")
            }
        }
    }

    @Test func retentionKeepsTheNewestTicketsOfEachJobInShortSteps() async throws {
        let store = try StoreFixture()
        // Catch-up none, grace 1 s: at 30.5 s slots 1…29 are skipped (finished) and slot 30 is pending.
        let policy = JobPolicy(overlap: .allow, catchup: .none, misfireGrace: .seconds(1))
        for name in ["a", "b", "c"] { _ = try await store.jobs.create(StoreFixture.spec(name, policy: policy), now: t0) }
        let fence = try await store.lead(now: t0, ttl: .minutes(10))
        let now = t0 + .milliseconds(30_500)
        _ = try await store.scheduler.tick(fence, now: now, lookahead: .zero, limit: 10)

        let rules = RetentionRules(retention: .days(30), perJob: 10, batch: 7, jobsPerStep: 2)
        let reports = try await pass(store, fence, rules: rules, now: now)
        #expect(reports.allSatisfy { $0.purgedTickets <= 7 })
        #expect(reports.map(\.purgedTickets).reduce(0, +) == 3 * 20)
        for name in ["a", "b", "c"] {
            let left = try await store.tickets.list(TicketFilter(jobName: name), limit: 100, cursor: nil).items
            #expect(left.map(\.slot).sorted() == (21...30).map { t0 + .seconds(Int64($0)) })
            let job = try #require(try await store.jobs.job(named: name))
            #expect(job.watermark == t0 + .seconds(30))
        }
        // The purged slots stay behind the watermark: nothing is ticketed again.
        #expect(try await store.scheduler.tick(fence, now: now, lookahead: .zero, limit: 10).written.isEmpty)
    }

    @Test func retentionPrunesOldRevisionsNoTicketReferencesButKeepsTheCurrentOne() async throws {
        let store = try StoreFixture()
        let spec = StoreFixture.spec("rev", policy: JobPolicy(overlap: .allow))
        let job = try await store.jobs.create(spec, now: t0)  // revision 1
        _ = try await store.jobs.create(StoreFixture.spec("other"), now: t0)
        let fence = try await store.lead(now: t0, ttl: .minutes(10))
        _ = try await store.scheduler.tick(fence, now: t0 + .milliseconds(1_500), lookahead: .zero, limit: 10)  // pins revision 1
        var edited = spec
        edited.labels = ["edit": "2"]
        _ = try await store.jobs.put(edited, ifRevision: nil, now: t0 + .seconds(2))  // revision 2, never ticketed
        edited.labels = ["edit": "3"]
        _ = try await store.jobs.put(edited, ifRevision: nil, now: t0 + .seconds(3))  // revision 3, current

        // Younger than the retention: kept.
        let young = try await pass(store, fence, rules: RetentionRules(retention: .days(30), perJob: 1000), now: t0 + .seconds(4))
        #expect(young.map(\.prunedRevisions).reduce(0, +) == 0)
        #expect(try await store.jobs.job(id: job.id, revision: 2) != nil)

        let later = t0 + .days(31)
        let newFence = try await store.lead(now: later, ttl: .minutes(10))
        let old = try await pass(store, newFence, rules: RetentionRules(retention: .days(30), perJob: 1000, batch: 1), now: later)
        #expect(old.map(\.prunedRevisions).reduce(0, +) == 1)
        #expect(try await store.jobs.job(id: job.id, revision: 1) != nil)  // a pending ticket runs it
        #expect(try await store.jobs.job(id: job.id, revision: 2) == nil)
        #expect(try await store.jobs.job(id: job.id, revision: 3) != nil)  // current
        let other = try #require(try await store.jobs.job(named: "other"))
        #expect(try await store.jobs.job(id: other.id, revision: 1) != nil)  // current
    }

    @Test func aDeposedLeaderPurgesNothing() async throws {
        let store = try StoreFixture()
        let old = try await store.lead("old", now: t0, ttl: .seconds(3))
        _ = try await store.lead("new", now: t0 + .seconds(4), ttl: .seconds(10))
        await #expect(throws: StoreError.self) {
            _ = try await SQLiteRetentionStore(store.database).retentionStep(
                old, phase: .start, rules: RetentionRules(retention: .days(1), perJob: 1), now: t0 + .seconds(5))
        }
    }

    @Test func pausingKeepsTicketsAlreadyWritten() async throws {
        // CONTRACT §9a: pause stops new slots; what is written stays (Docs/Architecture.md used to say otherwise).
        let store = try StoreFixture()
        _ = try await store.jobs.create(StoreFixture.spec("p", policy: JobPolicy(overlap: .allow)), now: t0)
        let fence = try await store.lead(now: t0, ttl: .minutes(10))
        _ = try await store.scheduler.tick(fence, now: t0 + .milliseconds(500), lookahead: .seconds(1), limit: 10)
        _ = try await store.jobs.setPaused(true, name: "p", ifRevision: nil, now: t0 + .milliseconds(600))
        let tickets = try await store.tickets.list(TicketFilter(jobName: "p"), limit: 10, cursor: nil).items
        #expect(tickets.map(\.state) == [.pending])
    }

    @Test func theDatabaseItsWALAndBackupsAreOwnerOnly() async throws {
        let previous = umask(0o022)  // the usual default, which left them world-readable
        defer { umask(previous) }
        let store = try StoreFixture()
        _ = try await store.jobs.create(StoreFixture.spec("secret"), now: t0)
        let backup = store.directory.appendingPathComponent("backup.sqlite").path
        try await store.database.backup(to: backup)
        for path in [store.path, store.path + "-wal", store.path + "-shm", backup] {
            var info = stat()
            #expect(stat(path, &info) == 0, "\(path) exists")
            #expect(info.st_mode & 0o777 == 0o600, "\(path) has mode \(String(info.st_mode & 0o777, radix: 8))")
        }
        await #expect(throws: StoreError.self) { try await store.database.backup(to: backup) }
    }
}
