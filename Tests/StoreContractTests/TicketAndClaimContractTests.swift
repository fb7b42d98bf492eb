import BatonCore
import BatonStore
import Testing

@Suite("Contract: ticket history, cancellation, hand-back")
struct TicketAndClaimContractTests {
    let t0 = StoreFixture.t0

    @Test(arguments: StoreBackend.all)
    func historyIsNewestFirstPagedAndFiltered(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("h", policy: JobPolicy(overlap: .allow)), now: t0)
        _ = try await store.jobs.create(StoreFixture.spec("other"), now: t0)
        var ids: [TicketID] = []
        for n in 0..<5 {
            ids.append(try await store.tickets.trigger(jobName: "h", idempotencyKey: "k\(n)", now: t0 + .seconds(Int64(n))).ticket.id)
        }
        _ = try await store.tickets.trigger(jobName: "other", idempotencyKey: nil, now: t0)
        #expect(try await store.tickets.ticket(TicketID.manual(job: JobID(rawValue: "nope"), idempotencyKey: "x")) == nil)

        var pages: [[TicketID]] = []
        var cursor: String?
        repeat {
            let page = try await store.tickets.list(TicketFilter(jobName: "h"), limit: 2, cursor: cursor)
            pages.append(page.items.map(\.id))
            cursor = page.nextCursor
        } while cursor != nil
        #expect(pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]])
        #expect(try await store.tickets.list(TicketFilter(), limit: 100, cursor: nil).items.count == 6)

        let window = try await store.tickets.list(
            TicketFilter(jobName: "h", since: t0 + .seconds(1), until: t0 + .seconds(3)), limit: 100, cursor: nil)
        #expect(window.items.map(\.id) == [ids[2], ids[1]])
        _ = try await store.claims.claim([ids[0]], executor: "e", now: t0 + .seconds(5), leaseTTL: .seconds(30))
        let running = try await store.tickets.list(TicketFilter(state: .running), limit: 100, cursor: nil)
        #expect(running.items.map(\.id) == [ids[0]])
        #expect(running.items.first?.executor == "e")
    }

    /// A cursor the store never handed out can never succeed: the caller's mistake (400), not a missing thing (404).
    @Test(arguments: StoreBackend.all)
    func aCursorTheStoreDidNotReturnIsAnInvalidArgument(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        for cursor in ["", "abc", "12x", "99999999999999999999999"] {
            do {
                _ = try await store.tickets.list(TicketFilter(), limit: 10, cursor: cursor)
                Issue.record("cursor \(cursor) was accepted")
            } catch {
                #expect(error.code == .invalidArgument, "\(cursor)")
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func cancellingStopsWaitingTicketsAndAsksRunningOnesToStop(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("c", policy: JobPolicy(overlap: .allow)), now: t0)
        let waiting = try await store.tickets.trigger(jobName: "c", idempotencyKey: "waiting", now: t0).ticket
        let running = try await store.tickets.trigger(jobName: "c", idempotencyKey: "running", now: t0).ticket

        let cancelled = try await store.tickets.cancel(waiting.id, now: t0 + .seconds(1))
        #expect(cancelled.state == .cancelled)
        #expect(cancelled.reason == .cancelled)
        #expect(cancelled.finishedAt == t0 + .seconds(1))
        #expect(try await store.claims.claim([waiting.id], executor: "e", now: t0 + .seconds(1), leaseTTL: .seconds(30)).isEmpty)
        do {
            _ = try await store.tickets.cancel(waiting.id, now: t0 + .seconds(2))
            Issue.record("cancelling a finished ticket must be refused")
        } catch {
            #expect(error.code == .conflict)
        }

        let claim = try #require(try await store.claims.claim([running.id], executor: "e", now: t0, leaseTTL: .seconds(30)).first)
        #expect(try await store.scheduler.cancellationsRequested().isEmpty)
        let asked = try await store.tickets.cancel(running.id, now: t0 + .seconds(1))
        #expect(asked.state == .running)  // the executor stops it; the store only records the request
        #expect(try await store.scheduler.cancellationsRequested().map { "\($0.0):\($0.executor)" } == ["\(running.id):e"])
        let beat = try await store.claims.heartbeat([(running.id, claim.token)], now: t0 + .seconds(2), leaseTTL: .seconds(30))
        #expect(beat[running.id] == .extended(until: t0 + .seconds(32), cancelRequested: true))
        // Whatever the action reports short of success, a ticket asked to stop ends cancelled, with no retry.
        let done = try await store.claims.complete(
            [Completion(id: running.id, token: claim.token, outcome: .failed, retry: RetryPolicy(maxAttempts: 5))], now: t0 + .seconds(3))
        #expect(done[running.id] == true)
        #expect(try await store.tickets.ticket(running.id)?.state == .cancelled)
        #expect(try await store.scheduler.cancellationsRequested().isEmpty)

        do {
            _ = try await store.tickets.cancel(TicketID.manual(job: JobID(rawValue: "nope"), idempotencyKey: "x"), now: t0)
            Issue.record("cancelling an unknown ticket must be refused")
        } catch {
            #expect(error.code == .notFound)
        }
    }

    /// A write or cancel answers with the row as the store now holds it (a backend may build the answer from the
    /// statement's RETURNING row); reading the ticket back must give the same value, attempts included.
    @Test(arguments: StoreBackend.all)
    func triggerAndCancelAnswerWithTheTicketAsStored(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("as-stored", policy: JobPolicy(overlap: .forbid)), now: t0)
        let (written, created) = try await store.tickets.trigger(jobName: "as-stored", idempotencyKey: "a", now: t0)
        #expect(created)
        #expect(written.attempts == [])
        #expect(try await store.tickets.ticket(written.id) == written)
        let replay = try await store.tickets.trigger(jobName: "as-stored", idempotencyKey: "a", now: t0 + .seconds(1))
        #expect(!replay.created)
        #expect(replay.ticket == written)

        let waiting = try await store.tickets.trigger(jobName: "as-stored", idempotencyKey: "b", now: t0).ticket
        let cancelled = try await store.tickets.cancel(waiting.id, now: t0 + .seconds(1))
        #expect(cancelled.attempts == [])
        #expect(try await store.tickets.ticket(waiting.id) == cancelled)

        _ = try #require(try await store.claims.claim([written.id], executor: "e", now: t0, leaseTTL: .seconds(30)).first)
        let asked = try await store.tickets.cancel(written.id, now: t0 + .seconds(2))
        #expect(asked.state == .running)
        #expect(asked.attempts?.count == 1)
        #expect(try await store.tickets.ticket(written.id) == asked)
    }

    @Test(arguments: StoreBackend.all)
    func aHandedBackTicketIsClaimableAgainWithoutSpendingAnAttempt(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        let retry = RetryPolicy(maxAttempts: 1)
        _ = try await store.jobs.create(StoreFixture.spec("back", policy: JobPolicy(retry: retry)), now: t0)
        let ticket = try await store.tickets.trigger(jobName: "back", idempotencyKey: nil, now: t0).ticket
        let claim = try #require(try await store.claims.claim([ticket.id], executor: "leaving", now: t0, leaseTTL: .seconds(30)).first)
        #expect(claim.attempt == 1)
        #expect(claim.maxAttempts == 1)
        #expect(claim.jobName == "back")
        #expect(claim.spec.policy.retry == retry)
        #expect(try await store.jobs.job(id: claim.jobID, revision: claim.revision) == claim.spec)

        let accepted = try await store.claims.complete(
            [Completion(id: ticket.id, token: claim.token, outcome: .handedBack, retry: retry)], now: t0 + .seconds(1))
        #expect(accepted[ticket.id] == true)
        let back = try #require(try await store.tickets.ticket(ticket.id))
        #expect(back.state == .pending)
        #expect(back.reason == .handedBack)
        #expect(back.attempt == 0)
        #expect(back.attempts?.isEmpty == true)
        #expect(try await store.scheduler.dueTickets(by: t0 + .seconds(1), after: nil, limit: 10).map(\.id) == [ticket.id])

        let again = try #require(
            try await store.claims.claim([ticket.id], executor: "staying", now: t0 + .seconds(1), leaseTTL: .seconds(30)).first)
        #expect(again.attempt == 1)
        #expect(again.token != claim.token)
        // The old token is spent: it can neither renew nor complete the new claim.
        #expect(try await store.claims.heartbeat([(ticket.id, claim.token)], now: t0 + .seconds(2), leaseTTL: .seconds(30))[ticket.id] == .lost)
        #expect(
            try await store.claims.complete(
                [Completion(id: ticket.id, token: claim.token, outcome: .succeeded, retry: retry)], now: t0 + .seconds(2))[ticket.id]
                == false)
        #expect(try await store.claims.claim([TicketID.manual(job: JobID(rawValue: "nope"), idempotencyKey: "x")], executor: "e", now: t0, leaseTTL: .seconds(30)).isEmpty)
    }
}
