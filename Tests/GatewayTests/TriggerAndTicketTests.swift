import BatonCore
import BatonStore
import Foundation
import Gateway
import HummingbirdTesting
import Testing
import ZeroMQ

@Suite("Triggers and tickets")
struct TriggerAndTicketTests {
    @Test("trigger is 202 with a manual ticket; the same Idempotency-Key returns it again with 200")
    func idempotentTrigger() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("t"))
            let first = try await client.send(.post, "/v1/jobs/t/trigger", headers: ["Idempotency-Key": "k-1"])
            #expect(first.status == .accepted)
            let id = try #require(first.string("id"))
            #expect(first.header("Location") == "/v1/tickets/\(id)")
            #expect(first["manual"] as? Bool == true)
            #expect(first.string("state") == "pending")
            #expect(first.string("job") == "t")
            #expect(first.json["epoch"] is NSNull)
            #expect(first["attempts"] as? [Any] != nil)

            let second = try await client.send(.post, "/v1/jobs/t/trigger", headers: ["Idempotency-Key": "k-1"])
            #expect(second.status == .ok)
            #expect(second.string("id") == id)
            let other = try await client.send(.post, "/v1/jobs/t/trigger")
            #expect(other.status == .accepted)
            #expect(other.string("id") != id)

            #expect(try await client.send(.post, "/v1/jobs/none/trigger").status == .notFound)
            let badKey = try await client.send(.post, "/v1/jobs/t/trigger", headers: ["Idempotency-Key": String(repeating: "k", count: 300)])
            #expect(badKey.status == .unprocessableContent)
        }
    }

    /// GET bodies are memoized per job; the memo must follow every change to the job row.
    @Test("GET shows the job as it is now after a trigger and a pause")
    func getFollowsChanges() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("memo"))
            let before = try await client.send(.get, "/v1/jobs/memo")
            #expect(before.json["lastTicket"] is NSNull)
            #expect(try await client.send(.get, "/v1/jobs/memo").string("state") == "active")
            let ticket = try await client.send(.post, "/v1/jobs/memo/trigger")
            let afterTrigger = try await client.send(.get, "/v1/jobs/memo")
            #expect(afterTrigger.string("lastTicket") == ticket.string("id"))
            _ = try await client.send(.post, "/v1/jobs/memo/pause")
            let paused = try await client.send(.get, "/v1/jobs/memo")
            #expect(paused["paused"] as? Bool == true)
            #expect(paused.string("state") == "paused")
        }
    }

    @Test("100 concurrent triggers with one key write one ticket")
    func concurrentTriggers() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("race"))
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for _ in 0..<100 {
                    group.addTask { try await client.send(.post, "/v1/jobs/race/trigger", headers: ["Idempotency-Key": "same"]) }
                }
                return try await group.reduce(into: [Reply]()) { $0.append($1) }
            }
            #expect(replies.count == 100)
            #expect(replies.filter { $0.status == .accepted }.count == 1)
            #expect(replies.filter { $0.status == .ok }.count == 99)
            #expect(Set(replies.compactMap { $0.string("id") }).count == 1)
            let listed = try await client.send(.get, "/v1/tickets?job=race")
            #expect(listed.items.count == 1)
        }
    }

    @Test("a trigger sends WAKE with the ticket id to the schedulers", .timeLimit(.minutes(1)))
    func wakeSent() async throws {
        let context = try ZMQContext()
        let router = try await ZMQSocketLoop(context: context) { context in
            let socket = try ZMQSocket(context: context, type: .router)
            try socket.bind("tcp://127.0.0.1:*")
            return [socket]
        }
        let endpoint = try #require(router.endpoints.first ?? nil)
        let fixture = try GatewayFixture(schedulers: [endpoint])
        let (id, woken) = try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("w"))
            let id = try await client.send(.post, "/v1/jobs/w/trigger").string("id")
            // Wait inside the test: the gateway closes its sockets with LINGER 0 when the test ends.
            for await event in router.events {
                // ROUTER prefixes the sender's identity frame.
                if case .received(_, let frames) = event, let message = try? WireMessage.decode(Array(frames.dropFirst())) {
                    return (id, Optional(message))
                }
            }
            return (id, nil)
        }
        await router.shutdown()
        context.shutdown()
        #expect(woken == .wake(.init(ticket: id.flatMap(TicketID.init(hex:)))))
    }

    @Test("GET /v1/tickets filters by job, state and time, pages with a cursor, and rejects bad filters")
    func listTickets() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("a"))
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("b"))
            for index in 0..<3 {
                fixture.clock.set(GatewayFixture.t0 + .seconds(Int64(index)))
                _ = try await client.send(.post, "/v1/jobs/a/trigger")
            }
            _ = try await client.send(.post, "/v1/jobs/b/trigger")

            let all = try await client.send(.get, "/v1/tickets")
            #expect(all.items.count == 4)
            let page = try await client.send(.get, "/v1/tickets?job=a&limit=2")
            #expect(page.items.count == 2)
            let cursor = try #require(page.string("nextCursor"))
            let rest = try await client.send(.get, "/v1/tickets?job=a&limit=2&cursor=\(cursor)")
            #expect(rest.items.count == 1)
            #expect(rest.json["nextCursor"] is NSNull)
            #expect(rest.items.first?["attempts"] == nil)

            let since = (GatewayFixture.t0 + .seconds(1)).rfc3339
            let until = (GatewayFixture.t0 + .seconds(2)).rfc3339
            #expect(try await client.send(.get, "/v1/tickets?job=a&since=\(since)&until=\(until)").items.count == 1)
            #expect(try await client.send(.get, "/v1/tickets?state=pending").items.count == 4)
            #expect(try await client.send(.get, "/v1/tickets?state=succeeded").items.count == 0)

            let bad = try await client.send(.get, "/v1/tickets?state=done&since=yesterday&cursor=abc&limit=5000")
            #expect(bad.status == .unprocessableContent)
            #expect(Set(bad.errorFields) == ["state", "since", "cursor", "limit"])
        }
    }

    @Test("GET one ticket with attempts; 404 for unknown or malformed ids; cancel, then 409")
    func getAndCancel() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("c"))
            let id = try #require(try await client.send(.post, "/v1/jobs/c/trigger").string("id"))
            let ticket = try await client.send(.get, "/v1/tickets/\(id)")
            #expect(ticket.status == .ok)
            #expect(ticket.string("id") == id)
            #expect(ticket["attempts"] as? [Any] != nil)
            for key in ["jobId", "revision", "slot", "state", "reason", "detail", "epoch", "attempt", "maxAttempts", "notBefore", "createdAt", "startedAt", "finishedAt", "executor", "manual"] {
                #expect(ticket.json.keys.contains(key), "missing \(key)")
            }

            #expect(try await client.send(.get, "/v1/tickets/\(String(repeating: "0", count: 64))").status == .notFound)
            #expect(try await client.send(.get, "/v1/tickets/xyz").status == .notFound)

            let cancelled = try await client.send(.post, "/v1/tickets/\(id)/cancel")
            #expect(cancelled.status == .ok)
            #expect(cancelled.string("state") == "cancelled")
            #expect(try await client.send(.post, "/v1/tickets/\(id)/cancel").status == .conflict)
            #expect(try await client.send(.post, "/v1/tickets/\(String(repeating: "a", count: 64))/cancel").status == .notFound)
        }
    }
}
