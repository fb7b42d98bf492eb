import BatonCore
import BatonRuntime
import BatonStore
import Foundation
import GRDB
import Gateway
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("HTTP protocol rules")
struct ProtocolTests {
    @Test("no or wrong token is 401 except on /healthz and /readyz")
    func authentication() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let missing = try await client.send(.get, "/v1/jobs", token: nil)
            #expect(missing.status == .unauthorized)
            #expect(missing.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            #expect(try await client.send(.get, "/v1/jobs", token: "wrong-token").status == .unauthorized)
            #expect(try await client.send(.get, "/v1/jobs", token: GatewayFixture.token + "x").status == .unauthorized)
            #expect(try await client.send(.get, "/metrics", token: nil).status == .unauthorized)
            #expect(try await client.send(.get, "/v1/nowhere", token: nil).status == .unauthorized)
            #expect(try await client.send(.get, "/healthz", token: nil).status == .ok)
            #expect(try await client.send(.get, "/readyz", token: nil).status == .ok)
            #expect(try await client.send(.get, "/v1/jobs").status == .ok)
        }
    }

    @Test("on a loopback bind only localhost, 127.0.0.1 and [::1] Host headers are served (403 otherwise)")
    func hostCheck() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            for host in ["localhost", "localhost:8080", "127.0.0.1:9", "[::1]:8080", "[::1]", "LOCALHOST"] {
                #expect(try await client.send(.get, "/healthz", headers: ["Host": host]).status == .ok, "\(host)")
            }
            for host in ["evil.example", "evil.example:8080", "127.0.0.1.nip.io", "localhost:http", "[::2]:80", "localhost.", ""] {
                let reply = try await client.send(.get, "/healthz", headers: ["Host": host])
                #expect(reply.status == .forbidden, "\(host)")
                #expect(reply.string("type") == "urn:baton:problem:forbidden-host")
            }
        }
    }

    @Test("unknown paths are 404, unknown methods on known paths 405 with Allow")
    func notFoundAndMethodNotAllowed() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let missing = try await client.send(.get, "/v1/nothing")
            #expect(missing.status == .notFound)
            #expect(missing.header("Content-Type") == "application/problem+json")

            let wrong = try await client.send(.delete, "/v1/tickets")
            #expect(wrong.status == .methodNotAllowed)
            #expect(wrong.header("Allow") == "GET")
            let jobs = try await client.send(.put, "/v1/jobs")
            #expect(jobs.header("Allow") == "GET, POST")
            let job = try await client.send(.post, "/v1/jobs/x")
            #expect(job.status == .methodNotAllowed)
            #expect(job.header("Allow") == "DELETE, GET, PATCH, PUT")
            #expect(try await client.send(.get, "/v1/jobs/x/trigger").header("Allow") == "POST")
        }
    }

    @Test("bodies need a JSON content type (415) and at most 1 MiB (413); non-JSON is 400")
    func bodyRules() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let form = try await client.send(
                .post, "/v1/jobs", json: Specs.every("f"), headers: ["Content-Type": "application/x-www-form-urlencoded"])
            #expect(form.status == .unsupportedMediaType)
            let text = try await client.send(.post, "/v1/jobs", json: Specs.every("f"), headers: ["Content-Type": "text/plain"])
            #expect(text.status == .unsupportedMediaType)
            let mergeOnPost = try await client.send(
                .post, "/v1/jobs", json: Specs.every("f"), headers: ["Content-Type": "application/merge-patch+json"])
            #expect(mergeOnPost.status == .unsupportedMediaType)
            let charset = try await client.send(
                .post, "/v1/jobs", json: Specs.every("f"), headers: ["Content-Type": "Application/JSON; charset=utf-8"])
            #expect(charset.status == .created)

            let huge = #"{"name": "big", "pad": ""# + String(repeating: "x", count: (1 << 20) + 1) + #""}"#
            let tooLarge = try await client.send(.post, "/v1/jobs", json: huge)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.string("type") == "urn:baton:problem:content-too-large")

            #expect(try await client.send(.post, "/v1/jobs", json: "{not json").status == .badRequest)
            #expect(try await client.send(.post, "/v1/jobs", json: "").status == .badRequest)
        }
    }

    @Test("X-Request-Id is echoed when acceptable, generated otherwise, and named in problems")
    func requestID() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let echoed = try await client.send(.get, "/healthz", headers: ["X-Request-Id": "abc-123"])
            #expect(echoed.header("X-Request-Id") == "abc-123")
            let generated = try await client.send(.get, "/healthz")
            #expect(generated.header("X-Request-Id")?.count == 36)
            let replaced = try await client.send(.get, "/healthz", headers: ["X-Request-Id": String(repeating: "a", count: 200)])
            #expect(replaced.header("X-Request-Id")?.count == 36)
            let problem = try await client.send(.get, "/v1/jobs/none", headers: ["X-Request-Id": "trace-9"])
            #expect(problem.string("requestId") == "trace-9")
            #expect(problem.string("instance") == "/v1/jobs/none")
        }
    }

    @Test("a locked database is 503 with Retry-After, never another 5xx")
    func storageUnavailable() async throws {
        let fixture = try GatewayFixture(busyTimeout: .milliseconds(100))
        try await fixture.test { client in
            let lock = try DatabaseLock(path: fixture.databasePath)
            defer { lock.release() }
            let reply = try await client.send(.post, "/v1/jobs", json: Specs.every("locked"))
            #expect(reply.status == .serviceUnavailable)
            #expect(reply.header("Retry-After") == "1")
            #expect(reply.string("type") == "urn:baton:problem:unavailable")
        }
    }

    @Test("readiness is 503 while the schema is not migrated")
    func notReady() async throws {
        let fixture = try GatewayFixture(migrate: false)
        try await fixture.test { client in
            let reply = try await client.send(.get, "/readyz", token: nil)
            #expect(reply.status == .serviceUnavailable)
            #expect(reply.header("Retry-After") != nil)
        }
    }

    @Test("configuration refuses a non-loopback bind without a token")
    func refusesOpenBind() throws {
        #expect(throws: GatewayConfigurationError.self) {
            try GatewayConfiguration(bind: ListenAddress(host: "0.0.0.0", port: 8080)).validate()
        }
        try GatewayConfiguration(bind: ListenAddress(host: "0.0.0.0", port: 8080), apiToken: "t0ken").validate()
        try GatewayConfiguration(bind: ListenAddress(host: "127.0.0.1", port: 8080)).validate()
        try GatewayConfiguration(bind: ListenAddress(parsing: "[::1]:0")).validate()
        #expect(throws: ListenAddressError.self) { try ListenAddress(parsing: "8080") }
        #expect(throws: ListenAddressError.self) { try ListenAddress(parsing: "host:99999") }
    }
}

/// Holds SQLite's write lock from another connection until released, the way a long write in another
/// process would. The lock is taken before `init` returns; a semaphore, not a sleep, orders the steps.
final class DatabaseLock: Sendable {
    private let locked = DispatchSemaphore(value: 0)
    private let release_ = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    init(path: String) throws {
        let queue = try DatabaseQueue(path: path)
        let (locked, release, done) = (self.locked, self.release_, self.done)
        DispatchQueue.global().async {
            try? queue.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                locked.signal()
                release.wait()
                try db.execute(sql: "ROLLBACK")
            }
            done.signal()
        }
        locked.wait()
    }

    func release() {
        release_.signal()
        done.wait()
    }
}
