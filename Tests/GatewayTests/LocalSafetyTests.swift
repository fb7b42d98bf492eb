import BatonCore
import BatonRuntime
import BatonStore
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import Testing

/// What stops a web page from driving a gateway (API.md "Conventions"): unsafe methods need a JSON
/// content type and a same-origin request, body or not; a loopback bind answers only loopback Host names.
@Suite("Local safety: content type, origin, loopback")
struct LocalSafetyTests {
    /// A job, one pending manual ticket, on a gateway without a token on loopback: the setting a form on
    /// any web site would attack.
    static func prepared(_ client: any TestClientProtocol) async throws -> String {
        #expect(try await client.send(.post, "/v1/jobs", json: Specs.every("j"), token: nil).status == .created)
        let triggered = try await client.send(.post, "/v1/jobs/j/trigger", token: nil)
        #expect(triggered.status == .accepted)
        return try #require(triggered.string("id"))
    }

    @Test("POST pause, resume, trigger, cancel and DELETE without Content-Type: application/json are 415 and change nothing")
    func bodylessUnsafeRequestsNeedJSON() async throws {
        let fixture = try GatewayFixture(token: nil)
        try await fixture.test { client in
            let ticket = try await Self.prepared(client)
            let requests: [(HTTPRequest.Method, String)] = [
                (.post, "/v1/jobs/j/pause"), (.post, "/v1/jobs/j/resume"), (.post, "/v1/jobs/j/trigger"),
                (.post, "/v1/tickets/\(ticket)/cancel"), (.delete, "/v1/jobs/j"),
            ]
            for (method, path) in requests {
                for contentType in [nil, "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"] {
                    let headers = contentType.map { ["Content-Type": $0] } ?? [:]
                    let reply = try await client.send(method, path, token: nil, headers: headers, jsonContentType: false)
                    #expect(reply.status == .unsupportedMediaType, "\(method) \(path) \(contentType ?? "no content type")")
                    #expect(reply.string("type") == "urn:baton:problem:unsupported-media-type")
                }
            }
            let job = try await client.send(.get, "/v1/jobs/j", token: nil)
            #expect(job.string("state") == "active")
            #expect(try await client.send(.get, "/v1/tickets?job=j", token: nil).items.count == 1)
            #expect(try await client.send(.get, "/v1/tickets/\(ticket)", token: nil).string("state") == "pending")

            #expect(try await client.send(.post, "/v1/jobs/j/pause", token: nil).string("state") == "paused")
            #expect(try await client.send(.post, "/v1/tickets/\(ticket)/cancel", token: nil).status == .ok)
            let merge = ["Content-Type": "application/merge-patch+json"]
            #expect(try await client.send(.post, "/v1/jobs/j/resume", token: nil, headers: merge).status == .unsupportedMediaType)
            #expect(try await client.send(.delete, "/v1/jobs/j", token: nil).status == .noContent)
        }
    }

    @Test(
        "an unsafe request marked cross-site by Sec-Fetch-Site or Origin is 403, with or without a token",
        arguments: [
            ["Sec-Fetch-Site": "cross-site"], ["Sec-Fetch-Site": "same-site"], ["Origin": "http://evil.example"],
            ["Origin": "null"], ["Origin": "http://127.0.0.1:3000"], ["Origin": "http://127.0.0.1.evil.example:8080"],
            ["Origin": "http://localhost:8080"], ["Origin": "file://"],
            ["Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "cross-site"],
        ])
    func crossSiteRefused(headers: [String: String]) async throws {
        for token in [nil, GatewayFixture.token] {
            let fixture = try GatewayFixture(token: token)
            try await fixture.test { client in
                #expect(try await client.send(.post, "/v1/jobs", json: Specs.every("j"), token: token).status == .created)
                var sent = headers
                sent["Host"] = "127.0.0.1:8080"
                for (method, path) in [(HTTPRequest.Method.post, "/v1/jobs/j/pause"), (.delete, "/v1/jobs/j")] {
                    let reply = try await client.send(method, path, token: token, headers: sent)
                    #expect(reply.status == .forbidden, "\(method) \(path) \(headers)")
                    #expect(reply.string("type") == "urn:baton:problem:cross-site")
                }
                let created = try await client.send(.post, "/v1/jobs", json: Specs.every("k"), token: token, headers: sent)
                #expect(created.status == .forbidden)
                #expect(try await client.send(.get, "/v1/jobs/j", token: token).string("state") == "active")
                // Reading is not affected: a page cannot read the answer without CORS, which is never granted.
                #expect(try await client.send(.get, "/v1/jobs/j", token: token, headers: sent).status == .ok)
            }
        }
    }

    @Test(
        "same-origin requests and requests without browser headers are served",
        arguments: [
            ["Host": "127.0.0.1:8080", "Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"],
            ["Host": "localhost", "Origin": "http://localhost"], ["Host": "localhost:80", "Origin": "http://LOCALHOST"],
            ["Host": "[::1]:8080", "Origin": "http://[::1]:8080"], ["Host": "127.0.0.1:8080", "Sec-Fetch-Site": "none"],
            ["Host": "127.0.0.1:8080"],
        ])
    func sameOriginServed(headers: [String: String]) async throws {
        let fixture = try GatewayFixture(token: nil)
        try await fixture.test { client in
            let created = try await client.send(.post, "/v1/jobs", json: Specs.every("j"), token: nil, headers: headers)
            #expect(created.status == .created)
            let paused = try await client.send(.post, "/v1/jobs/j/pause", token: nil, headers: headers)
            #expect(paused.string("state") == "paused")
            let deleted = try await client.send(.delete, "/v1/jobs/j", token: nil, headers: headers)
            #expect(deleted.status == .noContent)
        }
    }

    @Test("the loopback Host check parses addresses: 127.0.0.1.evil.com is refused, loopback literals are served")
    func loopbackHostIsAnAddress() async throws {
        let fixture = try GatewayFixture(token: nil)
        try await fixture.test { client in
            for host in ["127.0.0.1", "127.0.0.1:8080", "[::1]", "[::1]:8080", "localhost", "localhost:8080", "127.0.0.2:9", "[0:0:0:0:0:0:0:1]"] {
                #expect(try await client.send(.get, "/v1/jobs", token: nil, headers: ["Host": host]).status == .ok, "\(host)")
            }
            for host in [
                "127.0.0.1.evil.com", "127.0.0.1.evil.com:8080", "127.1", "[127.0.0.1]", "::1", "[::1]x", "0x7f.0.0.1",
                "127.0.0.1:99999", "localhost.evil.com",
            ] {
                let reply = try await client.send(.get, "/v1/jobs", token: nil, headers: ["Host": host])
                #expect(reply.status == .forbidden, "\(host)")
            }
        }
    }

    @Test("a bind address counts as loopback only when it is one: 127.0.0.1.evil.com needs a token")
    func loopbackBindIsAnAddress() throws {
        for text in ["127.0.0.1.evil.com:8080", "127.evil:80", "0.0.0.0:8080", "[::]:8080", "localhost.evil.com:80"] {
            let bind = try ListenAddress(parsing: text)
            #expect(!bind.isLoopback, "\(text)")
            #expect(throws: GatewayConfigurationError.self, "\(text)") { try GatewayConfiguration(bind: bind).validate() }
        }
        for text in ["127.0.0.1:8080", "127.0.0.53:53", "[::1]:8080", "localhost:0", "LOCALHOST:1", "[::ffff:127.0.0.1]:80"] {
            let bind = try ListenAddress(parsing: text)
            #expect(bind.isLoopback, "\(text)")
            try GatewayConfiguration(bind: bind).validate()
        }
    }
}
