import BatonCore
import BatonStore
import Testing

@Suite("Contract: the leader's reads, and every fenced write refused without a current lease")
struct SchedulerContractTests {
    let t0 = StoreFixture.t0

    @Test(arguments: StoreBackend.all)
    func nextWakeAndDueJobCountSeeJobsAndTicketsNotYetDue(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        let idle = try await store.scheduler.nextWake(after: t0)
        #expect(idle.jobDueAt == nil)
        #expect(idle.ticketNotBefore == nil)
        #expect(try await store.scheduler.dueJobCount(by: t0 + .hours(1), cap: 10) == 0)

        let retry = RetryPolicy(maxAttempts: 3, initialDelay: .seconds(10), maxDelay: .minutes(1), multiplier: 2)
        _ = try await store.jobs.create(StoreFixture.spec("minutely", every: .minutes(1)), now: t0)
        _ = try await store.jobs.create(StoreFixture.spec("hourly", every: .hours(1), policy: JobPolicy(retry: retry)), now: t0)
        let wake = try await store.scheduler.nextWake(after: t0)
        #expect(wake.jobDueAt == t0 + .minutes(1))
        #expect(wake.ticketNotBefore == nil)
        #expect(try await store.scheduler.dueJobCount(by: t0 + .seconds(59), cap: 10) == 0)
        #expect(try await store.scheduler.dueJobCount(by: t0 + .minutes(1), cap: 10) == 1)
        #expect(try await store.scheduler.dueJobCount(by: t0 + .hours(1), cap: 10) == 2)
        #expect(try await store.scheduler.dueJobCount(by: t0 + .hours(1), cap: 1) == 1)

        // A ticket already due is the dispatcher's business; one backing off until later is a reason to wake.
        let ticket = try await store.tickets.trigger(jobName: "hourly", idempotencyKey: nil, now: t0).ticket
        #expect(try await store.scheduler.nextWake(after: t0).ticketNotBefore == nil)
        let claim = try #require(try await store.claims.claim([ticket.id], executor: "e", now: t0, leaseTTL: .seconds(30)).first)
        _ = try await store.claims.complete(
            [Completion(id: ticket.id, token: claim.token, outcome: .failed, retry: retry)], now: t0 + .seconds(1))
        #expect(try await store.scheduler.nextWake(after: t0 + .seconds(2)).ticketNotBefore == t0 + .seconds(11))
        #expect(try await store.scheduler.dueTickets(by: t0 + .seconds(10), after: nil, limit: 10).isEmpty)
        #expect(try await store.scheduler.dueTickets(by: t0 + .seconds(11), after: nil, limit: 10).map(\.id) == [ticket.id])
    }

    @Test(arguments: StoreBackend.all)
    func withNothingParkedThereIsNothingToRelease(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("fine"), now: t0)
        let fence = try await store.lead(now: t0)
        #expect(try await store.scheduler.parkedJobCount() == 0)
        let (released, stillParked) = try await store.scheduler.releaseParked(fence, now: t0)
        #expect(released.isEmpty)
        #expect(stillParked == 0)
        let report = try await store.scheduler.tick(fence, now: t0 + .seconds(1), lookahead: .zero, limit: 10)
        #expect(report.parked.isEmpty)
        #expect(report.jobsExamined == 1)
        #expect(report.byJob["fine"] == JobTicketCounts(written: 1))
    }

    /// A job whose stored schedule this build cannot evaluate is parked by the tick, once, visibly; the others are
    /// ticketed; a leader that still cannot plan it keeps it parked; a new revision it can read releases it.
    @Test(arguments: StoreBackend.all)
    func aJobThisBuildCannotPlanIsParkedUntilItCan(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        let allow = JobPolicy(overlap: .allow)
        _ = try await store.jobs.create(StoreFixture.spec("good", policy: allow), now: t0)
        let mars = try await store.jobs.create(StoreFixture.spec("mars", policy: allow), now: t0)
        try await backend.storeRawSpec(
            store, mars,
            #"{"name":"mars","schedule":{"cron":"* * * * * *","timezone":"Mars/Olympus_Mons"},"action":{"noop":{}}}"#)
        let fence = try await store.lead(now: t0, ttl: .minutes(10))
        let report = try await store.scheduler.tick(fence, now: t0 + .milliseconds(2_500), lookahead: .zero, limit: 100)
        #expect(report.written.map(\.jobID).allSatisfy { $0 != mars.id })
        #expect(report.written.count == 2)
        #expect(report.parked.map(\.name) == ["mars"])
        #expect(report.parked.first?.revision == mars.revision)
        #expect(report.parked.first?.reason.contains("Mars/Olympus_Mons") == true)
        #expect(try await store.scheduler.parkedJobCount() == 1)
        #expect(try await store.jobs.job(named: "mars")?.state == .parked)
        // Not looked at again by the tick, and not released by a leader that still cannot plan it.
        #expect(try await store.scheduler.tick(fence, now: t0 + .seconds(3), lookahead: .zero, limit: 100).parked.isEmpty)
        let (released, stillParked) = try await store.scheduler.releaseParked(fence, now: t0 + .seconds(3))
        #expect(released.isEmpty)
        #expect(stillParked == 1)

        let replaced = try await store.jobs.put(StoreFixture.spec("mars", policy: allow), ifRevision: mars.revision, now: t0 + .seconds(4))
        #expect(replaced.job.state == .active)
        #expect(try await store.scheduler.parkedJobCount() == 0)
        #expect(try await store.jobs.job(named: "mars")?.parking == nil)
    }

    /// A deposed leader (another holder has a higher epoch) and a leader whose lease ran out with nobody taking over
    /// are both refused by every fenced write, which then changes nothing.
    @Test(arguments: StoreBackend.all)
    func everyFencedWriteRefusesAStaleOrExpiredLease(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("j", policy: JobPolicy(overlap: .allow, catchup: .all)), now: t0)
        let old = try await store.lead("old", now: t0, ttl: .seconds(3))
        let now = t0 + .seconds(5)
        let new = try await store.lead("new", now: t0 + .seconds(4), ttl: .seconds(1))
        #expect(new.epoch == old.epoch + 1)
        // At `now` the new lease has run out as well: both fences are refused, for different reasons.
        for (what, fence) in [("deposed", old), ("lapsed", new)] {
            await expectNotLeader(what) { try await store.scheduler.tick(fence, now: now, lookahead: .zero, limit: 10) }
            await expectNotLeader(what) { try await store.scheduler.expireLeases(fence, now: now, limit: 10) }
            await expectNotLeader(what) { try await store.scheduler.enforceDeadlines(fence, now: now) }
            await expectNotLeader(what) { try await store.scheduler.releaseParked(fence, now: now) }
            await expectNotLeader(what) {
                try await store.retention.retentionStep(
                    fence, phase: .start, rules: RetentionRules(retention: .zero, perJob: 1), now: now)
            }
        }
        #expect(try await store.history("j").isEmpty)
        #expect(try await store.jobs.job(named: "j")?.watermark == t0)
    }

    func expectNotLeader<T>(_ what: String, _ body: () async throws -> T) async {
        do {
            _ = try await body()
            Issue.record("a \(what) lease must not write")
        } catch {
            #expect((error as? StoreError)?.code == .notLeader, "\(what): \(error)")
        }
    }
}
