import BatonCore
import BatonSQLite
import BatonStore
import Foundation
import Gateway
import HummingbirdTesting
import Testing

@Suite("Jobs API")
struct JobsAPITests {
    @Test("POST creates a job: 201, Location, ETag and the full job document")
    func create() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let reply = try await client.send(.post, "/v1/jobs", json: Specs.every("report", extra: #", "labels": {"team": "billing"}"#))
            #expect(reply.status == .created)
            #expect(reply.header("Location") == "/v1/jobs/report")
            #expect(reply.header("ETag") == "\"1\"")
            #expect(reply.string("name") == "report")
            #expect(reply["revision"] as? Int == 1)
            #expect(reply.string("state") == "active")
            #expect(reply.string("createdAt") == GatewayFixture.t0.rfc3339)
            #expect(reply.string("nextFireAt") == (GatewayFixture.t0 + .seconds(60)).rfc3339)
            #expect(reply.json.keys.contains("lastTicket"))
            #expect((reply["policy"] as? [String: Any])?["overlap"] as? String == "forbid")

            let again = try await client.send(.post, "/v1/jobs", json: Specs.every("report"))
            #expect(again.status == .conflict)
            #expect(again.header("Content-Type") == "application/problem+json")
        }
    }

    @Test("GET one job, and 404 for unknown or invalid names")
    func read() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("a"))
            let reply = try await client.send(.get, "/v1/jobs/a")
            #expect(reply.status == .ok)
            #expect(reply.header("ETag") == "\"1\"")
            #expect(try await client.send(.get, "/v1/jobs/missing").status == .notFound)
            #expect(try await client.send(.get, "/v1/jobs/UPPER").status == .notFound)
        }
    }

    @Test("GET /v1/jobs pages by name with limit and cursor, and filters by label and paused")
    func list() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            for name in ["a", "b", "c"] {
                let labels = name == "b" ? #", "labels": {"team": "ops"}, "paused": true"# : ""
                #expect(try await client.send(.post, "/v1/jobs", json: Specs.every(name, extra: labels)).status == .created)
            }
            let first = try await client.send(.get, "/v1/jobs?limit=2")
            #expect(first.items.compactMap { $0["name"] as? String } == ["a", "b"])
            let cursor = try #require(first.string("nextCursor"))
            let second = try await client.send(.get, "/v1/jobs?limit=2&cursor=\(cursor)")
            #expect(second.items.compactMap { $0["name"] as? String } == ["c"])
            #expect(second.json["nextCursor"] is NSNull)

            let labelled = try await client.send(.get, "/v1/jobs?label=team:ops")
            #expect(labelled.items.compactMap { $0["name"] as? String } == ["b"])
            let unpaused = try await client.send(.get, "/v1/jobs?paused=false")
            #expect(unpaused.items.compactMap { $0["name"] as? String } == ["a", "c"])

            let bad = try await client.send(.get, "/v1/jobs?limit=0&paused=maybe&label=nocolon")
            #expect(bad.status == .unprocessableContent)
            #expect(Set(bad.errorFields) == ["limit", "paused", "label"])
            #expect(try await client.send(.get, "/v1/jobs?limit=1001").status == .unprocessableContent)
        }
    }

    @Test("PUT creates (201) then replaces (200); the body's name must match the URL")
    func put() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let created = try await client.send(.put, "/v1/jobs/p", json: #"{"schedule": {"every": "30s"}, "action": {"noop": {}}}"#)
            #expect(created.status == .created)
            #expect(created.header("Location") == "/v1/jobs/p")
            let replaced = try await client.send(.put, "/v1/jobs/p", json: Specs.every("p", "45s"))
            #expect(replaced.status == .ok)
            #expect(replaced.header("ETag") == "\"2\"")
            #expect((replaced["schedule"] as? [String: Any])?["every"] as? String == "45s")

            let mismatch = try await client.send(.put, "/v1/jobs/p", json: Specs.every("other"))
            #expect(mismatch.status == .unprocessableContent)
            #expect(mismatch.errorFields == ["name"])
        }
    }

    @Test("If-Match makes PUT, PATCH, DELETE and pause conditional on the revision (412 otherwise)")
    func conditional() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("c"))
            let stale = ["If-Match": "\"7\""]
            #expect(try await client.send(.put, "/v1/jobs/c", json: Specs.every("c", "2m"), headers: stale).status == .preconditionFailed)
            #expect(try await client.send(.patch, "/v1/jobs/c", json: #"{"paused": true}"#, headers: stale).status == .preconditionFailed)
            #expect(try await client.send(.delete, "/v1/jobs/c", headers: stale).status == .preconditionFailed)
            #expect(try await client.send(.post, "/v1/jobs/c/pause", headers: stale).status == .preconditionFailed)
            #expect(try await client.send(.put, "/v1/jobs/c", json: Specs.every("c"), headers: ["If-Match": "garbage"]).status == .preconditionFailed)
            #expect(try await client.send(.put, "/v1/jobs/new", json: Specs.every("new"), headers: ["If-Match": "*"]).status == .preconditionFailed)

            let current = ["If-Match": "\"1\""]
            let updated = try await client.send(.put, "/v1/jobs/c", json: Specs.every("c", "2m"), headers: current)
            #expect(updated.status == .ok)
            #expect(updated.header("ETag") == "\"2\"")
            #expect(try await client.send(.delete, "/v1/jobs/c", headers: ["If-Match": "\"2\""]).status == .noContent)
        }
    }

    @Test("PATCH applies a JSON merge patch and validates the result")
    func patch() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("m", extra: #", "labels": {"a": "1", "b": "2"}"#))
            let reply = try await client.send(
                .patch, "/v1/jobs/m", json: #"{"labels": {"a": null, "c": "3"}, "policy": {"overlap": "allow"}}"#,
                headers: ["Content-Type": "application/merge-patch+json"])
            #expect(reply.status == .ok)
            #expect(reply["labels"] as? [String: String] == ["b": "2", "c": "3"])
            #expect((reply["policy"] as? [String: Any])?["overlap"] as? String == "allow")
            #expect(reply["revision"] as? Int == 2)

            let invalid = try await client.send(.patch, "/v1/jobs/m", json: #"{"schedule": {"every": "0s"}, "name": "renamed"}"#)
            #expect(invalid.status == .unprocessableContent)
            #expect(Set(invalid.errorFields) == ["schedule.every", "name"])
            #expect(try await client.send(.patch, "/v1/jobs/none", json: "{}").status == .notFound)
        }
    }

    @Test("DELETE is 204, then the job is gone and its name reusable")
    func delete() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("d"))
            #expect(try await client.send(.delete, "/v1/jobs/d").status == .noContent)
            #expect(try await client.send(.get, "/v1/jobs/d").status == .notFound)
            #expect(try await client.send(.delete, "/v1/jobs/d").status == .notFound)
            #expect(try await client.send(.post, "/v1/jobs", json: Specs.every("d")).status == .created)
        }
    }

    @Test("pause and resume change the state")
    func pauseResume() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("s"))
            let paused = try await client.send(.post, "/v1/jobs/s/pause")
            #expect(paused.status == .ok)
            #expect(paused.string("state") == "paused")
            #expect(paused["paused"] as? Bool == true)
            let resumed = try await client.send(.post, "/v1/jobs/s/resume")
            #expect(resumed.string("state") == "active")
            #expect(try await client.send(.post, "/v1/jobs/none/pause").status == .notFound)
        }
    }

    @Test("422 lists every invalid field at once")
    func validationListsAllFields() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let body = #"""
                {"name": "Bad Name", "schedule": {"every": "0s"}, "action": {"http": {"url": "ftp://x", "method": "BREW"}},
                 "policy": {"overlap": "sometimes", "retry": {"maxAttempts": 0}}, "paused": "yes"}
                """#
            let reply = try await client.send(.post, "/v1/jobs", json: body)
            #expect(reply.status == .unprocessableContent)
            #expect(reply.header("Content-Type") == "application/problem+json")
            #expect(reply.string("type") == "urn:baton:problem:validation")
            #expect(reply["status"] as? Int == 422)
            let fields = Set(reply.errorFields)
            for field in ["name", "schedule.every", "action.http.url", "action.http.method", "policy.overlap", "policy.retry.maxAttempts", "paused"] {
                #expect(fields.contains(field), "missing \(field) in \(fields)")
            }
        }
    }

    @Test("command jobs need BATON_ALLOW_COMMANDS: 422 naming action.command, accepted when allowed")
    func commandsOptIn() async throws {
        let body = #"{"name": "cmd", "schedule": {"every": "1m"}, "action": {"command": {"argv": ["/bin/true"]}}}"#
        let refused = try GatewayFixture()
        try await refused.test { client in
            let reply = try await client.send(.post, "/v1/jobs", json: body)
            #expect(reply.status == .unprocessableContent)
            #expect(reply.errorFields == ["action.command"])
        }
        let allowed = try GatewayFixture(allowCommands: true)
        let status = try await allowed.test { client in try await client.send(.post, "/v1/jobs", json: body).status }
        #expect(status == .created)
    }

    @Test("secret header and env values are shown as *** and survive a GET-then-PUT round trip")
    func secretsRedacted() async throws {
        let fixture = try GatewayFixture(allowCommands: true)
        try await fixture.test { client in
            let headers = #"{"Authorization": "Bearer s3cret", "X-Api-Key": "k1", "Accept": "text/plain"}"#
            let created = try await client.send(.post, "/v1/jobs", json: Specs.http("h", headers: headers))
            let shown = try #require(((created["action"] as? [String: Any])?["http"] as? [String: Any])?["headers"] as? [String: String])
            #expect(shown == ["Authorization": "***", "X-Api-Key": "***", "Accept": "text/plain"])
            #expect(!created.text.contains("s3cret"))

            let fetched = try await client.send(.get, "/v1/jobs/h")
            #expect(!fetched.text.contains("s3cret"))
            let put = try await client.send(.put, "/v1/jobs/h", json: fetched.text)
            #expect(put.status == .ok)

            let stored = try #require(try await SQLiteJobStore(fixture.database()).job(named: "h"))
            guard case .http(let action) = stored.spec.action else { Issue.record("not an http action"); return }
            #expect(action.headers["Authorization"] == "Bearer s3cret")
            #expect(action.headers["X-Api-Key"] == "k1")

            let env = #"{"name": "e", "schedule": {"every": "1m"}, "action": {"command": {"argv": ["/bin/true"], "env": {"DB_PASSWORD": "pw", "MODE": "x"}}}}"#
            let command = try await client.send(.post, "/v1/jobs", json: env)
            let shownEnv = ((command["action"] as? [String: Any])?["command"] as? [String: Any])?["env"] as? [String: String]
            #expect(shownEnv == ["DB_PASSWORD": "***", "MODE": "x"])
        }
    }
}
