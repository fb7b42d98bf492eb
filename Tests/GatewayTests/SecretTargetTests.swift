import BatonCore
import BatonSQLite
import BatonStore
import Foundation
import Gateway
import HummingbirdTesting
import Testing

/// A stored secret is kept for a masked (`***`) value only while the action's target is unchanged
/// (API.md "Secrets"): editing a job must not be a way to send its secret to another server.
@Suite("Secrets follow their target")
struct SecretTargetTests {
    static let headers = #"{"Authorization": "Bearer s3cret", "X-Api-Key": "k1", "Accept": "text/plain"}"#

    static func http(url: String, headers: String = #"{"Authorization": "***", "X-Api-Key": "***", "Accept": "text/plain"}"#) -> String {
        #"{"name": "h", "schedule": {"every": "60s"}, "action": {"http": {"method": "POST", "url": "\#(url)", "headers": \#(headers)}}}"#
    }

    static func storedHeaders(_ fixture: GatewayFixture) async throws -> [String: String] {
        let stored = try #require(try await SQLiteJobStore(fixture.database()).job(named: "h"))
        guard case .http(let action) = stored.spec.action else { throw CocoaError(.coderInvalidValue) }
        return action.headers
    }

    @Test(
        "PUT that moves the URL to another scheme, host or port with *** secrets is 422 naming each secret, and changes nothing",
        arguments: ["http://attacker.test/run", "https://example.test/run", "http://example.test:8080/run", "http://user@elsewhere.test/"])
    func movedTargetNeedsSecretsAgain(url: String) async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            #expect(try await client.send(.post, "/v1/jobs", json: Specs.http("h", headers: Self.headers)).status == .created)
            let reply = try await client.send(.put, "/v1/jobs/h", json: Self.http(url: url))
            #expect(reply.status == .unprocessableContent)
            #expect(reply.errorFields == ["action.http.headers.Authorization", "action.http.headers.X-Api-Key"])
            #expect(reply.text.contains("give this value again"))
            #expect(try await Self.storedHeaders(fixture)["Authorization"] == "Bearer s3cret")
            #expect(try await client.send(.get, "/v1/jobs/h")["revision"] as? Int == 1)
        }
    }

    @Test(
        "the same scheme, host and port keeps the stored secrets (path, query, case and an explicit default port may change)",
        arguments: ["http://example.test/other?x=1", "HTTP://Example.Test:80/run"])
    func sameTargetKeepsSecrets(url: String) async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.http("h", headers: Self.headers))
            let reply = try await client.send(.put, "/v1/jobs/h", json: Self.http(url: url))
            #expect(reply.status == .ok, "\(reply.text)")
            let stored = try await Self.storedHeaders(fixture)
            #expect(stored["Authorization"] == "Bearer s3cret")
            #expect(stored["X-Api-Key"] == "k1")
        }
    }

    @Test("a new target with every secret given again is accepted and stores the new values")
    func newTargetWithNewSecrets() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.http("h", headers: Self.headers))
            let headers = #"{"Authorization": "Bearer other", "Accept": "text/plain"}"#
            let reply = try await client.send(.put, "/v1/jobs/h", json: Self.http(url: "https://new.test/run", headers: headers))
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(try await Self.storedHeaders(fixture) == ["Authorization": "Bearer other", "Accept": "text/plain"])
        }
    }

    @Test("PATCH of only the URL to another host does not carry the stored secrets along")
    func patchMovingTarget() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.http("h", headers: Self.headers))
            let moved = try await client.send(
                .patch, "/v1/jobs/h", json: #"{"action": {"http": {"url": "http://attacker.test/collect"}}}"#)
            #expect(moved.status == .unprocessableContent)
            #expect(moved.errorFields == ["action.http.headers.Authorization", "action.http.headers.X-Api-Key"])
            #expect(try await Self.storedHeaders(fixture)["Authorization"] == "Bearer s3cret")

            let given = try await client.send(
                .patch, "/v1/jobs/h",
                json: #"{"action": {"http": {"url": "http://new.test/run", "headers": {"Authorization": "Bearer new", "X-Api-Key": null}}}}"#)
            #expect(given.status == .ok, "\(given.text)")
            #expect(try await Self.storedHeaders(fixture) == ["Authorization": "Bearer new", "Accept": "text/plain"])

            let samePlace = try await client.send(.patch, "/v1/jobs/h", json: #"{"action": {"http": {"url": "http://new.test/v2"}}}"#)
            #expect(samePlace.status == .ok)
            #expect(try await Self.storedHeaders(fixture)["Authorization"] == "Bearer new")
        }
    }

    @Test("a command keeps masked env secrets only while argv[0] is unchanged")
    func commandProgram() async throws {
        let fixture = try GatewayFixture(allowCommands: true)
        @Sendable func spec(_ program: String, _ token: String) -> String {
            #"{"name": "c", "schedule": {"every": "60s"}, "action": {"command": {"argv": ["\#(program)", "--flag"], "env": {"API_TOKEN": "\#(token)", "MODE": "x"}}}}"#
        }
        try await fixture.test { client in
            #expect(try await client.send(.post, "/v1/jobs", json: spec("/usr/bin/report", "t0k")).status == .created)
            let moved = try await client.send(.put, "/v1/jobs/c", json: spec("/tmp/mine", "***"))
            #expect(moved.status == .unprocessableContent)
            #expect(moved.errorFields == ["action.command.env.API_TOKEN"])
            #expect(try await client.send(.put, "/v1/jobs/c", json: spec("/usr/bin/report", "***")).status == .ok)
            let stored = try #require(try await SQLiteJobStore(fixture.database()).job(named: "c"))
            guard case .command(let action) = stored.spec.action else { Issue.record("not a command"); return }
            #expect(action.env["API_TOKEN"] == "t0k")
        }
    }
}
