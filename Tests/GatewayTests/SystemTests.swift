import BatonCore
import BatonSQLite
import BatonStore
import Foundation
import Gateway
import HummingbirdTesting
import Testing

@Suite("Health, metrics, cluster views and cron")
struct SystemTests {
    @Test("healthz and readyz answer when the database is migrated")
    func health() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let health = try await client.send(.get, "/healthz", token: nil)
            #expect(health.status == .ok)
            #expect(health.string("status") == "ok")
            let ready = try await client.send(.get, "/readyz", token: nil)
            #expect(ready.string("status") == "ready")
        }
    }

    @Test("metrics count requests by route template and status, with latency")
    func metrics() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.get, "/v1/jobs/one")
            _ = try await client.send(.get, "/v1/jobs/two")
            _ = try await client.send(.get, "/no/such/path")
            let reply = try await client.send(.get, "/metrics")
            #expect(reply.status == .ok)
            #expect(reply.header("Content-Type")?.hasPrefix("text/plain") == true)
            #expect(reply.text.contains(#"baton_http_requests_total{route="/v1/jobs/{name}",method="GET",status="404"} 2"#))
            #expect(reply.text.contains(#"route="unmatched""#))
            #expect(reply.text.contains("baton_http_request_duration_seconds_bucket"))
            #expect(!reply.text.contains("/v1/jobs/one"))
        }
    }

    @Test("executors lists recently seen executors only")
    func executors() async throws {
        let fixture = try GatewayFixture()
        let t0 = GatewayFixture.t0
        try await fixture.test { client in
            let nodes = SQLiteNodeStore(try fixture.database())
            try await nodes.heartbeat(
                executor: ExecutorNode(
                    id: "exec-1", host: "h1", pid: 11, capacity: 16, inFlight: 3, queues: ["default"], version: "0.1.0",
                    startedAt: t0, lastSeen: t0))
            try await nodes.heartbeat(
                executor: ExecutorNode(
                    id: "exec-old", host: "h2", pid: 12, capacity: 4, inFlight: 0, queues: ["default"], version: "0.1.0",
                    startedAt: t0 - .minutes(10), lastSeen: t0 - .minutes(5)))
            let reply = try await client.send(.get, "/v1/executors")
            #expect(reply.items.count == 1)
            let first = try #require(reply.items.first)
            #expect(first["id"] as? String == "exec-1")
            #expect(first["capacity"] as? Int == 16)
            #expect(first["inFlight"] as? Int == 3)
            #expect(first["lastSeen"] as? String == t0.rfc3339)
        }
    }

    @Test("executors are keyset-paginated by id with limit and cursor")
    func executorPages() async throws {
        let fixture = try GatewayFixture()
        let t0 = GatewayFixture.t0
        try await fixture.test { client in
            let nodes = SQLiteNodeStore(try fixture.database())
            for id in ["exec-c", "exec-a", "exec-b"] {
                try await nodes.heartbeat(
                    executor: ExecutorNode(
                        id: id, host: "h", pid: 1, capacity: 4, inFlight: 0, queues: ["default"], version: "0.1.0",
                        startedAt: t0, lastSeen: t0))
            }
            var seen: [String] = []
            var cursor: String?
            for _ in 0..<4 {
                let reply = try await client.send(.get, "/v1/executors?limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(reply.status == .ok)
                #expect(reply.items.count == 1)
                seen += reply.items.compactMap { $0["id"] as? String }
                cursor = reply.string("nextCursor")
                if cursor == nil { break }
            }
            #expect(seen == ["exec-a", "exec-b", "exec-c"])
            #expect(cursor == nil)
            let two = try await client.send(.get, "/v1/executors?limit=2")
            #expect(two.items.count == 2)
            #expect(two.string("nextCursor") == "exec-b")
            #expect(try await client.send(.get, "/v1/executors").string("nextCursor") == nil)
            #expect(try await client.send(.get, "/v1/executors?limit=0").errorFields == ["limit"])
            #expect(try await client.send(.get, "/v1/executors?limit=1001").status == .unprocessableContent)
        }
    }

    @Test("scheduler shows the unexpired lease holder as leader and other live schedulers as standbys")
    func scheduler() async throws {
        let fixture = try GatewayFixture()
        let t0 = GatewayFixture.t0
        try await fixture.test { client in
            let empty = try await client.send(.get, "/v1/scheduler")
            #expect(empty.json["leader"] is NSNull)
            #expect((empty["standbys"] as? [Any])?.isEmpty == true)

            let database = try fixture.database()
            let a = SchedulerIdentity(id: "sched-a", host: "ha", pid: 1, endpoint: "tcp://ha:7710")
            let b = SchedulerIdentity(id: "sched-b", host: "hb", pid: 2, endpoint: "tcp://hb:7710")
            _ = try await SQLiteLeaderLeaseStore(database).acquireOrRenew(a, epoch: nil, now: t0, ttl: .seconds(10))
            let nodes = SQLiteNodeStore(database)
            try await nodes.heartbeat(scheduler: a, startedAt: t0, now: t0, tickLagMs: 4)
            try await nodes.heartbeat(scheduler: b, startedAt: t0, now: t0, tickLagMs: nil)

            let reply = try await client.send(.get, "/v1/scheduler")
            let leader = try #require(reply["leader"] as? [String: Any])
            #expect(leader["id"] as? String == "sched-a")
            #expect(leader["epoch"] as? Int == 1)
            #expect(leader["endpoint"] as? String == "tcp://ha:7710")
            #expect(leader["leaseExpiresAt"] as? String == (t0 + .seconds(10)).rfc3339)
            #expect((reply["standbys"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["sched-b"])
            #expect(reply["tickLagMs"] as? Int == 4)

            fixture.clock.set(t0 + .seconds(11))
            let expired = try await client.send(.get, "/v1/scheduler")
            #expect(expired.json["leader"] is NSNull)
            #expect((expired["standbys"] as? [[String: Any]])?.count == 2)
        }
    }

    @Test("cron previews an expression without a job and names bad fields")
    func cron() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let reply = try await client.send(.get, "/v1/cron?expr=*%20*%20*%20*%20*&tz=America/New_York&count=2&from=2026-01-15T10:00:00Z")
            #expect(reply.status == .ok)
            #expect(reply.string("expression") == "* * * * *")
            let fires = reply["fires"] as? [[String: String]] ?? []
            #expect(fires.map { $0["utc"] } == ["2026-01-15T10:01:00Z", "2026-01-15T10:02:00Z"])
            #expect(fires.first?["local"] == "2026-01-15T05:01:00-05:00")

            let bad = try await client.send(.get, "/v1/cron?expr=nonsense&tz=Mars/Olympus&count=0&dstGap=maybe")
            #expect(bad.status == .unprocessableContent)
            #expect(Set(bad.errorFields) == ["expr", "tz", "count", "dstGap"])
            #expect(try await client.send(.get, "/v1/cron").errorFields == ["expr"])
        }
    }
}
