import BatonCore
import BatonSQLite
import BatonStore
import Foundation
import GRDB
import Gateway
import HTTPTypes
import HummingbirdTesting
import Testing

/// A job whose stored spec this build cannot read or plan is parked, not a 503 (issue 12, item 3): it stays
/// readable, listable, replaceable and deletable, and shows why.
@Suite("Parked jobs in the API")
struct ParkedJobsAPITests {
    /// Overwrites a job's stored spec behind the gateway's back, as a newer gateway or a damaged file would.
    static func storeRawSpec(_ json: String, name: String, in fixture: GatewayFixture) throws {
        let queue = try DatabaseQueue(path: fixture.databasePath)
        try queue.write { db in
            try db.execute(sql: "UPDATE job SET spec = ? WHERE name = ? AND deleted_at IS NULL", arguments: [json, name])
            try db.execute(
                sql: "UPDATE job_revision SET spec = ? WHERE job_id = (SELECT id FROM job WHERE name = ? AND deleted_at IS NULL)",
                arguments: [json, name])
        }
    }

    @Test("GET, list and DELETE of a parked job work and show the reason; what needs its spec is 409")
    func parkedJobsStayReadableAndDeletable() async throws {
        let fixture = try GatewayFixture()
        let t0 = GatewayFixture.t0
        try await fixture.test { client in
            for spec in [
                Specs.every("healthy", "1s"), Specs.every("broken", "1s"),
                #"{"name": "mars", "schedule": {"cron": "* * * * *"}, "action": {"noop": {}}}"#,
            ] {
                #expect(try await client.send(.post, "/v1/jobs", json: spec).status == .created)
            }
            try Self.storeRawSpec(#"{"name":"broken","schedule":"#, name: "broken", in: fixture)
            try Self.storeRawSpec(
                #"{"name":"mars","schedule":{"cron":"* * * * *","timezone":"Mars/Olympus_Mons"},"action":{"noop":{}}}"#,
                name: "mars", in: fixture)

            // Unreadable here: parked as far as this gateway can tell, even before a scheduler has looked.
            let early = try await client.send(.get, "/v1/jobs/broken")
            #expect(early.status == .ok)
            #expect(early.string("state") == "parked")
            #expect(early.string("parkedReason")?.contains("is not valid JSON") == true)

            // The scheduler parks what it cannot plan, with its reason, and goes on with the others.
            let database = try fixture.database()
            let me = SchedulerIdentity(id: "scheduler-test", host: "test", pid: 1, endpoint: "tcp://127.0.0.1:0")
            let lease = try await SQLiteLeaderLeaseStore(database).acquireOrRenew(me, epoch: nil, now: t0, ttl: .seconds(600))
            let report = try await SQLiteSchedulerStore(database).tick(
                LeaderFence(holder: lease.holder, epoch: lease.epoch), now: t0 + .seconds(60), lookahead: .zero, limit: 10)
            #expect(Set(report.parked.map(\.name)) == ["broken", "mars"])
            #expect(!report.written.isEmpty)  // the healthy job

            let broken = try await client.send(.get, "/v1/jobs/broken")
            #expect(broken.status == .ok)
            #expect(broken.string("name") == "broken")
            #expect(broken.string("state") == "parked")
            #expect(broken.string("parkedReason")?.contains("is not valid JSON") == true)
            #expect(broken["schedule"] == nil)  // nothing is made up for a spec that cannot be read
            #expect(broken["revision"] as? Int == 1)

            let mars = try await client.send(.get, "/v1/jobs/mars")
            #expect(mars.status == .ok)
            #expect(mars.string("state") == "parked")
            let reason = try #require(mars.string("parkedReason"))
            #expect(reason.contains("schedule.timezone") && reason.contains("Mars/Olympus_Mons"))
            #expect((mars["schedule"] as? [String: Any])?["timezone"] as? String == "Mars/Olympus_Mons")

            let list = try await client.send(.get, "/v1/jobs")
            #expect(list.status == .ok)
            #expect(list.items.map { $0["name"] as? String } == ["broken", "healthy", "mars"])
            #expect(list.items.map { $0["state"] as? String } == ["parked", "active", "parked"])
            #expect(list.items[1]["parkedReason"] == nil)

            for (method, path) in [
                (HTTPRequest.Method.post, "/v1/jobs/broken/trigger"), (.post, "/v1/jobs/broken/pause"),
                (.get, "/v1/jobs/broken/schedule"), (.get, "/v1/jobs/broken/explain"),
            ] {
                let reply = try await client.send(method, path)
                #expect(reply.status == .conflict, "\(method) \(path)")
                #expect(reply.string("detail")?.contains("parked") == true, "\(method) \(path)")
            }
            #expect(try await client.send(.patch, "/v1/jobs/broken", json: #"{"paused": true}"#).status == .conflict)

            // What GET returned goes back with PUT (parkedReason is a server field); a readable spec leaves parked.
            var edited = mars.json
            edited["schedule"] = ["cron": "* * * * *", "timezone": "UTC"]
            let body = String(decoding: try JSONSerialization.data(withJSONObject: edited), as: UTF8.self)
            let replaced = try await client.send(.put, "/v1/jobs/mars", json: body)
            #expect(replaced.status == .ok)
            #expect(replaced.string("state") == "active")
            #expect(replaced["parkedReason"] == nil)
            #expect(try await client.send(.get, "/v1/jobs/mars").string("state") == "active")

            #expect(try await client.send(.delete, "/v1/jobs/broken").status == .noContent)
            #expect(try await client.send(.get, "/v1/jobs/broken").status == .notFound)
        }
    }
}
