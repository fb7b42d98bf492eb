import BatonCore
import BatonStore
import Foundation
import Testing

@Suite("Tickets: tick, claim, fence")
struct TicketLifecycleTests {
    let t0 = StoreFixture.t0

    @Test(arguments: StoreBackend.all)
    func tickWritesOneTicketPerSlotAndAdvancesTheWatermark(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        let job = try await store.jobs.create(StoreFixture.spec("every", policy: JobPolicy(overlap: .allow)), now: t0)
        let fence = try await store.lead(now: t0)
        let report = try await store.scheduler.tick(fence, now: t0 + .milliseconds(3_500), lookahead: .zero, limit: 100)
        #expect(report.written.map(\.slot) == [t0 + .seconds(1), t0 + .seconds(2), t0 + .seconds(3)])
        #expect(report.written.allSatisfy { $0.epoch == fence.epoch })
        #expect(report.written.first?.id == TicketID.scheduled(job: job.id, slot: t0 + .seconds(1)))
        let after = try #require(try await store.jobs.job(named: "every"))
        #expect(after.watermark == t0 + .seconds(3))
        #expect(after.nextFireAt == t0 + .seconds(4))
        // A second tick at the same instant finds nothing due.
        let again = try await store.scheduler.tick(fence, now: t0 + .milliseconds(3_500), lookahead: .zero, limit: 100)
        #expect(again.written.isEmpty)
    }

    @Test(arguments: StoreBackend.all)
    func racingTicksFromSeveralConnectionsNeverDuplicateASlot(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("race", policy: JobPolicy(overlap: .allow, catchup: .all)), now: t0)
        let fence = try await store.lead(now: t0)
        let connections = try (0..<4).map { _ in try store.connect() }
        let written = try await withThrowingTaskGroup(of: Int.self) { group in
            for (index, connection) in connections.enumerated() {
                group.addTask {
                    var total = 0
                    for step in 0..<20 {
                        let now = StoreFixture.t0 + .milliseconds(Int64(step * 500 + index * 7))
                        total += try await connection.scheduler.tick(fence, now: now, lookahead: .zero, limit: 10).written.count
                    }
                    return total
                }
            }
            return try await group.reduce(0, +)
        }
        let page = try await store.tickets.list(TicketFilter(jobName: "race"), limit: 1000, cursor: nil)
        #expect(page.items.count == written)
        #expect(Set(page.items.map(\.slot)).count == page.items.count)
        #expect(Set(page.items.map(\.slot)) == Set((1...9).map { t0 + .seconds(Int64($0)) }))
    }

    @Test(arguments: StoreBackend.all)
    func aDeposedLeaderChangesNothing(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("fenced"), now: t0)
        let old = try await store.lead("old", now: t0, ttl: .seconds(3))
        let new = try await store.lead("new", now: t0 + .seconds(4), ttl: .seconds(10))
        #expect(new.epoch == old.epoch + 1)
        do {
            _ = try await store.scheduler.tick(old, now: t0 + .seconds(5), lookahead: .zero, limit: 100)
            Issue.record("a stale epoch must not write")
        } catch {
            #expect(error.code == .notLeader)
        }
        #expect(try await store.tickets.list(TicketFilter(), limit: 10, cursor: nil).items.isEmpty)
        #expect(try await store.jobs.job(named: "fenced")?.watermark == t0)
        // The current leader's write goes through.
        #expect(try await store.scheduler.tick(new, now: t0 + .seconds(5), lookahead: .zero, limit: 100).written.count >= 1)
    }

    @Test(arguments: StoreBackend.all)
    func exactlyOneOfManyRacingClaimsWins(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("claim"), now: t0)
        let (ticket, _) = try await store.tickets.trigger(jobName: "claim", idempotencyKey: "once", now: t0)
        let connections = try (0..<4).map { _ in try store.connect() }
        let winners = try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<32 {
                let connection = connections[n % connections.count]
                group.addTask {
                    try await connection.claims.claim([ticket.id], executor: "e\(n)", now: StoreFixture.t0, leaseTTL: .seconds(30)).count
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(winners == 1)
        let stored = try #require(try await store.tickets.ticket(ticket.id))
        #expect(stored.state == .running)
        #expect(stored.attempt == 1)
        #expect(stored.attempts?.count == 1)
    }

    @Test(arguments: StoreBackend.all)
    func onlyTheCurrentClaimTokenCompletesOrExtends(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(
            StoreFixture.spec("zombie", policy: JobPolicy(retry: RetryPolicy(maxAttempts: 3))), now: t0)
        let fence = try await store.lead(now: t0, ttl: .minutes(10))
        let (ticket, _) = try await store.tickets.trigger(jobName: "zombie", idempotencyKey: nil, now: t0)
        let first = try #require(try await store.claims.claim([ticket.id], executor: "zombie", now: t0, leaseTTL: .seconds(30)).first)
        // The zombie stalls past its lease; the sweeper returns the ticket and another executor claims it.
        let expired = try await store.scheduler.expireLeases(fence, now: t0 + .seconds(31), limit: 100)
        #expect(expired == [ticket.id])
        let afterExpiry = try #require(try await store.tickets.ticket(ticket.id))
        #expect(afterExpiry.state == .retrying)
        #expect(afterExpiry.reason == .leaseExpired)
        let second = try #require(try await store.claims.claim([ticket.id], executor: "healthy", now: t0 + .seconds(31), leaseTTL: .seconds(30)).first)
        #expect(second.attempt == 2)
        #expect(second.token != first.token)

        let zombieBeat = try await store.claims.heartbeat([(ticket.id, first.token)], now: t0 + .seconds(32), leaseTTL: .seconds(30))
        #expect(zombieBeat[ticket.id] == .lost)
        let zombieDone = try await store.claims.complete(
            [Completion(id: ticket.id, token: first.token, outcome: .succeeded, retry: RetryPolicy())], now: t0 + .seconds(33))
        #expect(zombieDone[ticket.id] == false)
        #expect(try await store.tickets.ticket(ticket.id)?.state == .running)

        let beat = try await store.claims.heartbeat([(ticket.id, second.token)], now: t0 + .seconds(34), leaseTTL: .seconds(30))
        #expect(beat[ticket.id] == .extended(until: t0 + .seconds(64), cancelRequested: false))
        let done = try await store.claims.complete(
            [Completion(id: ticket.id, token: second.token, outcome: .succeeded, status: 200, output: "ok", retry: RetryPolicy())],
            now: t0 + .seconds(35))
        #expect(done[ticket.id] == true)
        let final = try #require(try await store.tickets.ticket(ticket.id))
        #expect(final.state == .succeeded)
        #expect(final.attempts?.map(\.outcome) == [.leaseExpired, .succeeded])
        #expect(final.attempts?.last?.status == 200)
        #expect(try await store.jobs.job(named: "zombie")?.lastSuccessAt == t0 + .seconds(35))
    }

    @Test(arguments: StoreBackend.all)
    func failuresRetryWithBackoffThenFail(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        let retry = RetryPolicy(maxAttempts: 2, initialDelay: .seconds(10), maxDelay: .minutes(1), multiplier: 2)
        _ = try await store.jobs.create(StoreFixture.spec("flaky", policy: JobPolicy(retry: retry)), now: t0)
        let (ticket, _) = try await store.tickets.trigger(jobName: "flaky", idempotencyKey: nil, now: t0)
        let claim1 = try #require(try await store.claims.claim([ticket.id], executor: "e", now: t0, leaseTTL: .seconds(30)).first)
        _ = try await store.claims.complete([Completion(id: ticket.id, token: claim1.token, outcome: .failed, status: 1, retry: retry)], now: t0 + .seconds(1))
        let retrying = try #require(try await store.tickets.ticket(ticket.id))
        #expect(retrying.state == .retrying)
        #expect(retrying.notBefore == t0 + .seconds(11))
        // Not claimable before its backoff elapses.
        #expect(try await store.claims.claim([ticket.id], executor: "e", now: t0 + .seconds(10), leaseTTL: .seconds(30)).isEmpty)
        let claim2 = try #require(try await store.claims.claim([ticket.id], executor: "e", now: t0 + .seconds(11), leaseTTL: .seconds(30)).first)
        _ = try await store.claims.complete([Completion(id: ticket.id, token: claim2.token, outcome: .failed, status: 1, output: "boom", retry: retry)], now: t0 + .seconds(12))
        let failed = try #require(try await store.tickets.ticket(ticket.id))
        #expect(failed.state == .failed)
        #expect(failed.attempts?.count == 2)
        #expect(failed.attempts?.last?.output == "boom")
    }

    /// A command may print anything, NUL bytes included, and PostgreSQL's text cannot hold NUL: the completion must
    /// still be stored (else the executor's retries would never end), with each NUL shown as U+FFFD on both backends.
    @Test(arguments: StoreBackend.all)
    func outputWithNULBytesIsStored(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("binary"), now: t0)
        let (ticket, _) = try await store.tickets.trigger(jobName: "binary", idempotencyKey: nil, now: t0)
        let claim = try #require(try await store.claims.claim([ticket.id], executor: "e", now: t0, leaseTTL: .seconds(30)).first)
        let accepted = try await store.claims.complete(
            [Completion(id: ticket.id, token: claim.token, outcome: .succeeded, status: 0, output: "a\u{0}b\u{0}", retry: RetryPolicy())],
            now: t0 + .seconds(1))
        #expect(accepted[ticket.id] == true)
        let done = try #require(try await store.tickets.ticket(ticket.id))
        #expect(done.state == .succeeded)
        #expect(done.attempts?.last?.output == "a\u{FFFD}b\u{FFFD}")
    }

    @Test(arguments: StoreBackend.all)
    func concurrentTriggersWithOneKeyMakeOneTicket(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("idem"), now: t0)
        let connections = try (0..<4).map { _ in try store.connect() }
        let results = try await withThrowingTaskGroup(of: (TicketID, Bool).self) { group in
            for n in 0..<40 {
                let connection = connections[n % connections.count]
                group.addTask {
                    let (ticket, created) = try await connection.tickets.trigger(jobName: "idem", idempotencyKey: "same", now: StoreFixture.t0)
                    return (ticket.id, created)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(results.map(\.0)).count == 1)
        #expect(results.filter(\.1).count == 1)
    }

    @Test(arguments: StoreBackend.all)
    func unclaimedTicketsMisfireAtTheirStartDeadline(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(
            StoreFixture.spec("late", policy: JobPolicy(overlap: .allow, catchup: .none, misfireGrace: .seconds(5))), now: t0)
        let fence = try await store.lead(now: t0, ttl: .minutes(10))
        _ = try await store.scheduler.tick(fence, now: t0 + .seconds(1), lookahead: .zero, limit: 10)
        #expect(try await store.scheduler.enforceDeadlines(fence, now: t0 + .seconds(5)) == 0)
        #expect(try await store.scheduler.enforceDeadlines(fence, now: t0 + .seconds(6)) == 1)
        let ticket = try #require(try await store.tickets.list(TicketFilter(jobName: "late"), limit: 10, cursor: nil).items.first)
        #expect(ticket.state == .skipped)
        #expect(ticket.reason == .misfire)
    }

    @Test(arguments: StoreBackend.all)
    func retentionPurgesOldHistoryButTheWatermarkStillHolds(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("old", policy: JobPolicy(overlap: .allow, catchup: .all)), now: t0)
        let fence = try await store.lead(now: t0, ttl: .minutes(10))
        let written = try await store.scheduler.tick(fence, now: t0 + .seconds(5), lookahead: .zero, limit: 10).written
        let claimed = try await store.claims.claim(written.map(\.id), executor: "e", now: t0 + .seconds(5), leaseTTL: .seconds(30))
        _ = try await store.claims.complete(
            claimed.map { Completion(id: $0.id, token: $0.token, outcome: .succeeded, retry: RetryPolicy()) }, now: t0 + .seconds(6))
        var purged = 0
        var phase: RetentionPhase? = .start
        while let current = phase {
            let report = try await store.retention.retentionStep(
                fence, phase: current, rules: RetentionRules(retention: .days(30), perJob: 2), now: t0 + .seconds(7))
            purged += report.purgedTickets
            phase = report.next
        }
        #expect(purged == 3)
        #expect(try await store.tickets.list(TicketFilter(jobName: "old"), limit: 10, cursor: nil).items.count == 2)
        // The purged slots are behind the watermark: ticking again writes only new slots.
        let next = try await store.scheduler.tick(fence, now: t0 + .seconds(6), lookahead: .zero, limit: 10)
        #expect(next.written.map(\.slot) == [t0 + .seconds(6)])
    }
}
