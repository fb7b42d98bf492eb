import BatonCore
import BatonPostgres
import BatonPostgresTestSupport
import BatonSQLite
import BatonStore
import BatonTestSupport
import Foundation
import Testing

/// Issue 14 item 3: `baton migrate --from sqlite:PATH --to postgres://…`, the real binary, from an SQLite database
/// built through the stores (the leader's tick path with a fence, manual triggers, claims and completions) into a
/// fresh PostgreSQL database; then the PostgreSQL stores must carry on exactly where SQLite stopped.
@Suite("baton migrate --from sqlite --to postgres", .serialized, .timeLimit(.minutes(2)))
struct MigrateToPostgresTests {
    /// A minute boundary (2026-09-21T12:54:00Z), so the cron job's slots are whole minutes after it.
    static let t0 = Timestamp(milliseconds: 1_790_000_040_000)

    static func identity(_ id: String) -> SchedulerIdentity {
        SchedulerIdentity(id: id, host: "test", pid: 1, endpoint: "tcp://127.0.0.1:0")
    }

    /// What the SQLite side held when it was copied, to compare with.
    struct Before {
        var jobs: [String: Job] = [:]
        var revisions: [(JobID, Int64, JobSpec)] = []
        var tickets: [Ticket] = []
        var detailed: [Ticket] = []
        var keyed: Ticket
        var running: ClaimedTicket
        var epoch: Int64
        var cronID: JobID
    }

    /// Jobs (a cron one with two revisions, a paused one, a manual one, a deleted one), ticks through a fenced
    /// leader, manual triggers with idempotency keys, finished, failed-and-retrying and still-running tickets.
    func populate(_ stores: Stores) async throws -> Before {
        let t0 = Self.t0
        let lease = try await stores.leases.acquireOrRenew(Self.identity("sqlite-leader"), epoch: nil, now: t0, ttl: .minutes(10))
        let fence = LeaderFence(holder: lease.holder, epoch: lease.epoch)
        let retry = RetryPolicy(maxAttempts: 3)
        let cronSpec = JobSpec(
            name: "cron", schedule: ScheduleSpec(.cron("* * * * *")), action: .noop,
            policy: JobPolicy(overlap: .allow, retry: retry))
        let cron = try await stores.jobs.create(cronSpec, now: t0)
        _ = try await stores.jobs.create(JobSpec(name: "paused", schedule: ScheduleSpec(.every(.seconds(30))), action: .noop), now: t0)
        _ = try await stores.jobs.setPaused(true, name: "paused", ifRevision: nil, now: t0)
        _ = try await stores.jobs.create(
            JobSpec(name: "manual", schedule: ScheduleSpec(.every(.hours(24))), action: .noop, policy: JobPolicy(overlap: .allow)), now: t0)
        _ = try await stores.jobs.create(JobSpec(name: "gone", schedule: ScheduleSpec(.every(.hours(24))), action: .noop), now: t0)

        // A keyed trigger whose ticket history retention then purges (the job keeps one ticket, and a newer one
        // exists): only its idempotency key remembers it, so the same key must not run it again.
        let (purged, _) = try await stores.tickets.trigger(jobName: "manual", idempotencyKey: "key-purged", now: t0 + .seconds(5))
        let purgedClaim = try #require(
            try await stores.claims.claim([purged.id], executor: "exec-1", now: t0 + .seconds(5), leaseTTL: .minutes(1)).first)
        _ = try await stores.claims.complete(
            [Completion(id: purged.id, token: purgedClaim.token, outcome: .succeeded, retry: retry)], now: t0 + .seconds(6))
        let (runningTicket, _) = try await stores.tickets.trigger(jobName: "manual", idempotencyKey: "key-running", now: t0 + .seconds(7))
        var phase: RetentionPhase? = .start
        while let current = phase {
            phase = try await stores.retention.retentionStep(
                fence, phase: current, rules: RetentionRules(retention: .days(30), perJob: 1), now: t0 + .seconds(8)
            ).next
        }
        try #require(try await stores.tickets.ticket(purged.id) == nil)

        // Slot t0+1m at revision 1, claimed and succeeded.
        let first = try await stores.scheduler.tick(fence, now: t0 + .seconds(61), lookahead: .zero, limit: 100)
        try #require(first.written.count == 1)
        let claimed1 = try await stores.claims.claim([first.written[0].id], executor: "exec-1", now: t0 + .seconds(62), leaseTTL: .minutes(1))
        let done1 = try #require(claimed1.first)
        _ = try await stores.claims.complete(
            [Completion(id: done1.id, token: done1.token, outcome: .succeeded, status: 0, output: "ok", retry: retry)], now: t0 + .seconds(63))

        // Revision 2, then slot t0+2m, claimed and failed once: retrying, with its attempt in the history.
        var updated = cronSpec
        updated.labels = ["team": "ops"]
        _ = try await stores.jobs.put(updated, ifRevision: nil, now: t0 + .seconds(90))
        let second = try await stores.scheduler.tick(fence, now: t0 + .seconds(121), lookahead: .zero, limit: 100)
        try #require(second.written.count == 1)
        let claimed2 = try await stores.claims.claim([second.written[0].id], executor: "exec-2", now: t0 + .seconds(122), leaseTTL: .minutes(1))
        let done2 = try #require(claimed2.first)
        _ = try await stores.claims.complete(
            [Completion(id: done2.id, token: done2.token, outcome: .failed, status: 1, output: "boom", retry: retry)], now: t0 + .seconds(123))

        // Three more slots at once (t0+3m, 4m, 5m): the catch-up policy decides what is written and what skipped.
        _ = try await stores.scheduler.tick(fence, now: t0 + .seconds(301), lookahead: .zero, limit: 100)

        // Manual triggers: one keyed and finished, one keyed and still running (its claim copied as it is).
        let (keyed, created) = try await stores.tickets.trigger(jobName: "manual", idempotencyKey: "key-1", now: t0 + .seconds(310))
        try #require(created)
        let keyedClaim = try #require(
            try await stores.claims.claim([keyed.id], executor: "exec-1", now: t0 + .seconds(311), leaseTTL: .minutes(1)).first)
        _ = try await stores.claims.complete(
            [Completion(id: keyed.id, token: keyedClaim.token, outcome: .succeeded, retry: retry)], now: t0 + .seconds(312))
        let running = try #require(
            try await stores.claims.claim([runningTicket.id], executor: "exec-2", now: t0 + .seconds(321), leaseTTL: .hours(1)).first)

        // A deleted job keeps its row and its (cancelled) history.
        _ = try await stores.tickets.trigger(jobName: "gone", idempotencyKey: nil, now: t0 + .seconds(330))
        try await stores.jobs.delete(name: "gone", ifRevision: nil, now: t0 + .seconds(331))

        var before = Before(keyed: keyed, running: running, epoch: fence.epoch, cronID: cron.id)
        for name in ["cron", "paused", "manual"] {
            let job = try #require(try await stores.jobs.job(named: name))
            before.jobs[name] = job
        }
        for revision in [Int64(1), 2] {
            before.revisions.append((cron.id, revision, try #require(try await stores.jobs.job(id: cron.id, revision: revision))))
        }
        before.tickets = try await stores.tickets.all(TicketFilter())
        for ticket in before.tickets { before.detailed.append(try #require(try await stores.tickets.ticket(ticket.id))) }
        try #require(before.tickets.count >= 6)
        try #require(before.detailed.contains { ($0.attempts ?? []).count == 1 && $0.state == .retrying })
        // Let the lease lapse, as a stopped scheduler's does (it is long expired by the real clock anyway).
        try await stores.leases.release(fence, now: t0 + .seconds(400))
        return before
    }

    func migrate(_ sqlitePath: String, to url: String, workspace: Workspace, name: String) async throws -> (status: Int32, log: String) {
        let process = try BatonProcess(
            ["migrate", "--from", "sqlite:\(sqlitePath)", "--to", url], environment: [:], directory: workspace.directory, name: name)
        defer { process.signal(SIGKILL) }
        let status = await process.waitForExit(timeout: .seconds(60))
        return (status, process.log)
    }

    @Test func everythingIsCopiedAndTheLeaderCarriesOnWithoutRepeatingASlot() async throws {
        let workspace = try Workspace()
        let sqlite = try BatonDatabase(StoreConfiguration(path: workspace.databasePath))
        try sqlite.migrate()
        let before = try await populate(.sqlite(sqlite))
        let target = try await TemporaryPostgres()

        let (status, log) = try await migrate(workspace.databasePath, to: target.url, workspace: workspace, name: "migrate")
        try #require(status == 0, "baton migrate failed: \(log)")
        // The summary counts every ticket.
        let lines = log.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.contains(["ticket", "\(before.tickets.count)"]), "\(log)")

        let pg = target.backend.stores
        for (name, job) in before.jobs {
            #expect(try await pg.jobs.job(named: name) == job, "job \(name)")
        }
        #expect(try await pg.jobs.job(named: "paused")?.state == .paused)
        #expect(try await pg.jobs.job(named: "gone") == nil)
        for (id, revision, spec) in before.revisions {
            #expect(try await pg.jobs.job(id: id, revision: revision) == spec, "revision \(revision)")
        }
        // The same tickets in the same order (newest first by row key), each with the same attempts.
        #expect(try await pg.tickets.all(TicketFilter()) == before.tickets)
        for ticket in before.detailed {
            #expect(try await pg.tickets.ticket(ticket.id) == ticket, "ticket \(ticket.id) (\(ticket.jobName), \(ticket.state))")
        }

        // Idempotency keys copied: the same trigger returns the existing ticket, and a key whose ticket was purged
        // is still known (without it, the trigger would write that ticket again and run it a second time).
        let (again, created) = try await pg.tickets.trigger(jobName: "manual", idempotencyKey: "key-1", now: Self.t0 + .seconds(500))
        #expect(!created)
        #expect(again.id == before.keyed.id)
        do {
            let (replayed, rewritten) = try await pg.tickets.trigger(jobName: "manual", idempotencyKey: "key-purged", now: Self.t0 + .seconds(500))
            Issue.record("a purged ticket's key was forgotten: trigger answered \(replayed.id), created \(rewritten)")
        } catch {
            #expect(error.code == .conflict, "\(error)")
        }

        // The running ticket's claim came along: its holder can still heartbeat it.
        let beat = try await pg.claims.heartbeat([(before.running.id, before.running.token)], now: Self.t0 + .seconds(500), leaseTTL: .minutes(1))
        guard case .extended = beat[before.running.id] else {
            Issue.record("the running ticket's claim was not copied: \(String(describing: beat[before.running.id]))")
            return
        }

        // The epoch grows on, and the watermark holds: a tick at the instant of SQLite's last one has nothing to write
        // (not even a duplicate to find), and the next slot gets a row key past every copied one.
        let lease = try await pg.leases.acquireOrRenew(Self.identity("pg-leader"), epoch: nil, now: Self.t0 + .seconds(500), ttl: .minutes(10))
        #expect(lease.holder == "pg-leader" && lease.epoch == before.epoch + 1)
        let fence = LeaderFence(holder: lease.holder, epoch: lease.epoch)
        let same = try await pg.scheduler.tick(fence, now: Self.t0 + .seconds(301), lookahead: .zero, limit: 100)
        #expect(same.written.isEmpty && same.duplicates == 0 && same.skipped == 0, "re-ticketed: \(same.written.map(\.slot))")
        let next = try await pg.scheduler.tick(fence, now: Self.t0 + .seconds(361), lookahead: .zero, limit: 100)
        #expect(next.written.map(\.id) == [TicketID.scheduled(job: before.cronID, slot: Self.t0 + .seconds(360))])
        #expect(next.duplicates == 0)

        // A second copy into the now occupied database is refused, and changes nothing.
        let (secondStatus, secondLog) = try await migrate(workspace.databasePath, to: target.url, workspace: workspace, name: "migrate-again")
        #expect(secondStatus == 2, "\(secondLog)")
        #expect(secondLog.contains("target already has 4 jobs"), "\(secondLog)")
        #expect(try await pg.tickets.all(TicketFilter()).count == before.tickets.count + 1)
    }

    @Test func aLiveSchedulerLeaseOnTheSQLiteFileIsRefused() async throws {
        let workspace = try Workspace()
        let sqlite = try BatonDatabase(StoreConfiguration(path: workspace.databasePath))
        try sqlite.migrate()
        let stores = Stores.sqlite(sqlite)
        _ = try await stores.jobs.create(JobSpec(name: "one", schedule: ScheduleSpec(.every(.hours(1))), action: .noop), now: Self.t0)
        _ = try await stores.leases.acquireOrRenew(Self.identity("live"), epoch: nil, now: SystemWallClock().now(), ttl: .minutes(10))
        let target = try await TemporaryPostgres()

        let (status, log) = try await migrate(workspace.databasePath, to: target.url, workspace: workspace, name: "migrate")
        #expect(status == 2, "\(log)")
        #expect(log.contains("holds the leader lease"), "\(log)")
        #expect(try await target.backend.stores.jobs.job(named: "one") == nil)
    }

    /// Pages much smaller than the tables (2 rows), so every table, composite keys included, is read and written over
    /// several pages, and still every row arrives once.
    @Test func smallPagesCopyEveryRowOnce() async throws {
        let workspace = try Workspace()
        let sqlite = try BatonDatabase(StoreConfiguration(path: workspace.databasePath))
        try sqlite.migrate()
        let before = try await populate(.sqlite(sqlite))
        let target = try await TemporaryPostgres()
        let source = try SQLiteTransferSource.open(path: workspace.databasePath)
        defer { source.close() }

        let summary = try await PostgresTransfer.copy(from: source, leaderEpoch: source.leaderLease?.epoch, into: target.backend, batchSize: 2)
        #expect(summary.rows[.ticket] == before.tickets.count)
        #expect(summary.rows[.jobRevision] == 6)
        #expect(summary.epoch == before.epoch)
        let pg = target.backend.stores
        #expect(try await pg.tickets.all(TicketFilter()) == before.tickets)
        for ticket in before.detailed { #expect(try await pg.tickets.ticket(ticket.id) == ticket) }
        for (id, revision, spec) in before.revisions { #expect(try await pg.jobs.job(id: id, revision: revision) == spec) }
    }

    /// A source that fails on its second page of tickets, after jobs, revisions and a page of tickets were written.
    struct FailingSource: TransferSource {
        let source: SQLiteTransferSource

        func rows(of table: TransferTable, after key: [TransferValue]?, limit: Int) async throws(StoreError) -> [[TransferValue]] {
            if table == .ticket && key != nil { throw StoreError(.unavailable, "disk unplugged") }
            return try await source.rows(of: table, after: key, limit: limit)
        }
    }

    @Test func aFailureHalfwayLeavesTheTargetWithoutAnyCopiedRow() async throws {
        let workspace = try Workspace()
        let sqlite = try BatonDatabase(StoreConfiguration(path: workspace.databasePath))
        try sqlite.migrate()
        _ = try await populate(.sqlite(sqlite))
        let target = try await TemporaryPostgres()
        let source = try SQLiteTransferSource.open(path: workspace.databasePath)
        defer { source.close() }

        do {
            _ = try await PostgresTransfer.copy(from: FailingSource(source: source), leaderEpoch: 3, into: target.backend, batchSize: 2)
            Issue.record("the copy succeeded")
        } catch {
            #expect(error.code == .storage && error.message.contains("disk unplugged"), "\(error)")
        }
        let pg = target.backend.stores
        #expect(try await pg.jobs.list(limit: 10, after: nil, label: nil, paused: nil).items.isEmpty)
        #expect(try await pg.tickets.all(TicketFilter()).isEmpty)
        #expect(try await pg.leases.current() == nil)
        // And the target is still one a copy may go into.
        let summary = try await PostgresTransfer.copy(from: source, leaderEpoch: 3, into: target.backend, batchSize: 2)
        #expect(summary.rows[.job] == 4)
    }

    /// The copy's column lists are PostgreSQL's tables exactly: a column added by a later migration and not to
    /// `TransferTable.columns` would otherwise be left behind silently.
    @Test func theTransferColumnsAreExactlyThePostgresColumns() async throws {
        let target = try await TemporaryPostgres()
        for table in TransferTable.allCases {
            #expect(try await target.columns(of: table.rawValue) == table.columns.map(\.name), "\(table.rawValue)")
        }
    }
}
