import BatonCore
import BatonStore
import Foundation
import Testing

@Suite("Tickets: batched executor writes and the leader's due-queue cursor")
struct BatchedWriteTests {
    let t0 = StoreFixture.t0

    /// One transaction finishes one claim and makes new ones; a zombie's completion in the same batch is refused
    /// without costing the claims their place.
    @Test(arguments: StoreBackend.all)
    func completeAndClaimWritesBothAndStillFencesZombies(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("batch", policy: JobPolicy(overlap: .allow)), now: t0)
        var ids: [TicketID] = []
        for key in ["a", "b", "c"] {
            ids.append(try await store.tickets.trigger(jobName: "batch", idempotencyKey: key, now: t0).0.id)
        }
        let first = try #require(try await store.claims.claim([ids[0]], executor: "e1", now: t0, leaseTTL: .seconds(30)).first)
        let zombie = Completion(id: ids[0], token: ClaimToken.random(), outcome: .succeeded, retry: RetryPolicy())
        let mine = Completion(id: ids[0], token: first.token, outcome: .succeeded, retry: RetryPolicy())

        let fenced = try await store.claims.completeAndClaim(
            [zombie], claim: [ids[1]], executor: "e1", now: t0 + .seconds(1), leaseTTL: .seconds(30))
        #expect(fenced.accepted == [ids[0]: false])
        #expect(fenced.won.map(\.id) == [ids[1]])

        let done = try await store.claims.completeAndClaim(
            [mine], claim: [ids[2], ids[1]], executor: "e1", now: t0 + .seconds(2), leaseTTL: .seconds(30))
        #expect(done.accepted == [ids[0]: true])
        #expect(done.won.map(\.id) == [ids[2]])  // ids[1] is already running: its second claim loses
        #expect(try await store.tickets.ticket(ids[0])?.state == .succeeded)
        #expect(try await store.tickets.ticket(ids[2])?.state == .running)
    }

    /// With `overlap: forbid` a ticket is claimable only once every earlier ticket of its job has finished:
    /// the check reads the `finished_at IS NULL` index that replaced the `state`-keyed one.
    @Test(arguments: StoreBackend.all)
    func serializedTicketsWaitForEarlierOnesToFinish(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("serial", policy: JobPolicy(overlap: .forbid)), now: t0)
        let first = try await store.tickets.trigger(jobName: "serial", idempotencyKey: "1", now: t0).0
        let second = try await store.tickets.trigger(jobName: "serial", idempotencyKey: "2", now: t0).0
        let due = try await store.scheduler.dueTickets(by: t0, after: nil, limit: 10)
        #expect(due.map(\.id) == [first.id])
        #expect(try await store.claims.claim([second.id], executor: "e", now: t0, leaseTTL: .seconds(30)).isEmpty)
        let claim = try #require(try await store.claims.claim([first.id], executor: "e", now: t0, leaseTTL: .seconds(30)).first)
        #expect(try await store.claims.claim([second.id], executor: "e", now: t0, leaseTTL: .seconds(30)).isEmpty)
        _ = try await store.claims.complete(
            [Completion(id: first.id, token: claim.token, outcome: .succeeded, retry: RetryPolicy())], now: t0 + .seconds(1))
        #expect(try await store.scheduler.dueTickets(by: t0 + .seconds(1), after: nil, limit: 10).map(\.id) == [second.id])
        #expect(try await store.claims.claim([second.id], executor: "e", now: t0 + .seconds(1), leaseTTL: .seconds(30)).count == 1)
    }

    /// Reading on from a cursor returns exactly the tickets after it in (not_before, seq) order, ties included,
    /// and reading page by page visits every due ticket once.
    @Test(arguments: StoreBackend.all)
    func dueTicketsPageThroughTheQueueFromACursor(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("queue", policy: JobPolicy(overlap: .allow)), now: t0)
        // Three instants, several tickets each: ties on not_before are the case the cursor must get right.
        var written: [TicketID] = []
        for (offset, count) in [(0, 4), (5, 3), (9, 5)] {
            for index in 0..<count {
                let ticket = try await store.tickets.trigger(
                    jobName: "queue", idempotencyKey: "\(offset)-\(index)", now: t0 + .milliseconds(Int64(offset)))
                written.append(ticket.0.id)
            }
        }
        let horizon = t0 + .seconds(1)
        let all = try await store.scheduler.dueTickets(by: horizon, after: nil, limit: 100)
        #expect(all.map(\.id) == written)
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.position < $1.position })

        var cursor: DueCursor?
        var paged: [TicketID] = []
        while true {
            let page = try await store.scheduler.dueTickets(by: horizon, after: cursor, limit: 2)
            guard let last = page.last else { break }
            paged += page.map(\.id)
            cursor = last.position
        }
        #expect(paged == written)
        // Not yet due: nothing past the horizon.
        #expect(try await store.scheduler.dueTickets(by: t0 + .milliseconds(4), after: all[3].position, limit: 100).isEmpty)
    }
}

@Suite("Tickets: grouped trigger writes")
struct GroupedTriggerTests {
    /// Triggers issued together share transactions; one that fails (unknown job) must not take the others down, and
    /// the same idempotency key twice in one group still yields one ticket.
    @Test(arguments: StoreBackend.all)
    func concurrentTriggersAreIsolatedFromEachOther(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        let t0 = StoreFixture.t0
        _ = try await store.jobs.create(StoreFixture.spec("grouped", policy: JobPolicy(overlap: .allow)), now: t0)
        let outcomes = await withTaskGroup(of: (String, Result<Bool, StoreError>).self) { group in
            for index in 0..<40 {
                let (job, key) = index % 4 == 0 ? ("missing", "k\(index)") : ("grouped", "k\(index % 20)")
                group.addTask {
                    do throws(StoreError) {
                        return (key, .success(try await store.tickets.trigger(jobName: job, idempotencyKey: key, now: t0).created))
                    } catch {
                        return (key, .failure(error))
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let failures = outcomes.compactMap { outcome -> StoreError? in
            if case .failure(let error) = outcome.1 { return error }
            return nil
        }
        #expect(failures.count == 10)
        #expect(failures.allSatisfy { $0.code == .notFound })
        let created = outcomes.filter { (try? $0.1.get()) == true }.map(\.0)
        #expect(Set(created).count == created.count)  // each key created exactly once
        let page = try await store.tickets.list(TicketFilter(jobName: "grouped"), limit: 100, cursor: nil)
        #expect(page.items.count == created.count)
        #expect(Set(created) == Set(outcomes.filter { (try? $0.1.get()) != nil }.map(\.0)))
    }
}
