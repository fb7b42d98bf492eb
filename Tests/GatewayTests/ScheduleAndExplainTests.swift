import BatonCore
import BatonSQLite
import BatonStore
import Foundation
import Gateway
import HummingbirdTesting
import Testing

@Suite("Schedule preview and explain")
struct ScheduleAndExplainTests {
    @Test("schedule preview of a cron job lists fires in UTC and local time")
    func cronPreview() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let job = #"{"name": "berlin", "schedule": {"cron": "* * * * *", "timezone": "Europe/Berlin"}, "action": {"noop": {}}}"#
            #expect(try await client.send(.post, "/v1/jobs", json: job).status == .created)
            let reply = try await client.send(.get, "/v1/jobs/berlin/schedule?count=3&from=2026-01-15T10:00:30Z")
            #expect(reply.status == .ok)
            #expect(reply.string("timezone") == "Europe/Berlin")
            let fires = reply["fires"] as? [[String: String]] ?? []
            #expect(fires.map { $0["utc"] } == ["2026-01-15T10:01:00Z", "2026-01-15T10:02:00Z", "2026-01-15T10:03:00Z"])
            #expect(fires.first?["local"] == "2026-01-15T11:01:00+01:00")

            let summer = try await client.send(.get, "/v1/jobs/berlin/schedule?count=1&from=2026-07-01T00:00:00Z")
            #expect((summer["fires"] as? [[String: String]])?.first?["local"] == "2026-07-01T02:01:00+02:00")

            let bad = try await client.send(.get, "/v1/jobs/berlin/schedule?count=0&from=tomorrow")
            #expect(bad.status == .unprocessableContent)
            #expect(Set(bad.errorFields) == ["count", "from"])
            #expect(try await client.send(.get, "/v1/jobs/none/schedule").status == .notFound)
        }
    }

    @Test("schedule preview of an interval job starts from now")
    func intervalPreview() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("tick", "60s"))
            let reply = try await client.send(.get, "/v1/jobs/tick/schedule?count=2")
            let fires = reply["fires"] as? [[String: String]] ?? []
            #expect(fires.map { $0["utc"] } == [(GatewayFixture.t0 + .seconds(60)).rfc3339, (GatewayFixture.t0 + .seconds(120)).rfc3339])
            #expect(fires.first?["local"] == fires.first?["utc"])
        }
    }

    @Test("explain names the ticket of a ticketed slot, the reason of a skipped one, and every no-ticket case")
    func explain() async throws {
        let fixture = try GatewayFixture()
        let t0 = GatewayFixture.t0
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("x", "60s"))
            let database = try fixture.database()
            let scheduler = SQLiteSchedulerStore(database)
            let me = SchedulerIdentity(id: "scheduler-test", host: "test", pid: 1, endpoint: "tcp://127.0.0.1:0")
            let lease = try await SQLiteLeaderLeaseStore(database).acquireOrRenew(me, epoch: nil, now: t0, ttl: .seconds(600))
            let fence = LeaderFence(holder: lease.holder, epoch: lease.epoch)

            // Slot t0+60s is ticketed; slot t0+120s is skipped because the first ticket is still pending (overlap forbid).
            _ = try await scheduler.tick(fence, now: t0 + .seconds(61), lookahead: .zero, limit: 10)
            _ = try await scheduler.tick(fence, now: t0 + .seconds(121), lookahead: .zero, limit: 10)
            fixture.clock.set(t0 + .seconds(125))

            func explain(_ at: Timestamp) async throws -> Reply {
                try await client.send(.get, "/v1/jobs/x/explain?at=\(at.rfc3339)")
            }

            let ticketed = try await explain(t0 + .seconds(90))
            #expect(ticketed.status == .ok)
            #expect(ticketed.string("verdict") == "ticketed")
            #expect(ticketed.string("slot") == (t0 + .seconds(60)).rfc3339)
            let ticket = try #require(ticketed["ticket"] as? [String: Any])
            let jobID = try #require(try await SQLiteJobStore(database).job(named: "x")?.id)
            #expect(ticket["id"] as? String == TicketID.scheduled(job: jobID, slot: t0 + .seconds(60)).hex)
            #expect(ticket["state"] as? String == "pending")
            #expect(ticket["attempts"] as? [Any] != nil)

            let skipped = try await explain(t0 + .seconds(120))
            #expect(skipped.string("verdict") == "skipped")
            #expect(skipped.string("reason") == "overlap")
            #expect((skipped["ticket"] as? [String: Any])?["state"] as? String == "skipped")

            #expect(try await explain(t0 - .seconds(1)).string("verdict") == "before_creation")
            #expect(try await explain(t0 + .seconds(30)).string("verdict") == "no_slot")
            #expect(try await explain(t0 + .seconds(200)).string("verdict") == "not_yet_due")
            fixture.clock.set(t0 + .seconds(190))
            #expect(try await explain(t0 + .seconds(185)).string("verdict") == "awaiting_scheduler")
            _ = try await client.send(.post, "/v1/jobs/x/pause")
            #expect(try await explain(t0 + .seconds(185)).string("verdict") == "paused")

            let bad = try await client.send(.get, "/v1/jobs/x/explain?at=noon")
            #expect(bad.status == .unprocessableContent)
            #expect(bad.errorFields == ["at"])
        }
    }
}
