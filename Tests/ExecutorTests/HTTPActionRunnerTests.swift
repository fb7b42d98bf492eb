import BatonTestSupport
import BatonCore
import Executor
import Foundation
import Synchronization
import Testing

@Suite("HTTP actions against a real local server")
struct HTTPActionRunnerTests {
    static let identity = TicketIdentity(
        ticket: TicketID(hex: String(repeating: "ab", count: 32))!, attempt: 2, jobName: "report",
        slot: Timestamp(rfc3339: "2026-03-08T07:30:00Z")!)

    let runner = HTTPActionRunner()

    @Test func sendsTheIdentityHeadersAndSucceedsOn2xx() async throws {
        let server = try TestHTTPServer { _ in .init(status: 201, body: "made it") }
        defer { server.stop() }
        let action = HTTPAction(
            method: "POST", url: server.url + "/run", headers: ["Content-Type": "application/json", "X-Team": "billing"],
            body: "{\"a\":1}")
        let result = await runner.run(action, identity: Self.identity, timeout: .seconds(5), stop: StopSignal())
        #expect(result == ActionResult(outcome: .succeeded, status: 201, output: "made it"))
        let request = try #require(server.requests.first)
        #expect(request.method == "POST")
        #expect(request.path == "/run")
        #expect(request.body == "{\"a\":1}")
        #expect(request.headers["idempotency-key"] == String(repeating: "ab", count: 32))
        #expect(request.headers["baton-ticket"] == String(repeating: "ab", count: 32))
        #expect(request.headers["baton-attempt"] == "2")
        #expect(request.headers["baton-job"] == "report")
        #expect(request.headers["baton-scheduled-at"] == "2026-03-08T07:30:00Z")
        #expect(request.headers["x-team"] == "billing")
    }

    @Test func aServerErrorFailsWithItsStatus() async throws {
        let server = try TestHTTPServer { _ in .init(status: 503, body: "down") }
        defer { server.stop() }
        let result = await runner.run(HTTPAction(url: server.url), identity: Self.identity, timeout: .seconds(5), stop: StopSignal())
        #expect(result == ActionResult(outcome: .failed, status: 503, output: "down"))
    }

    @Test func redirectsAreNotFollowed() async throws {
        let server = try TestHTTPServer { request in
            request.path == "/start" ? .init(status: 302, headers: ["Location": "/elsewhere"], body: "moved") : .init(status: 200)
        }
        defer { server.stop() }
        let result = await runner.run(
            HTTPAction(url: server.url + "/start"), identity: Self.identity, timeout: .seconds(5), stop: StopSignal())
        #expect(result.outcome == .failed)
        #expect(result.status == 302)
        #expect(server.requests.map(\.path) == ["/start"])
    }

    @Test func onlyTheFirst4KiBOfTheBodyIsKept() async throws {
        let body = String(repeating: "x", count: 10_000)
        let server = try TestHTTPServer { _ in .init(status: 200, body: body) }
        defer { server.stop() }
        let result = await runner.run(HTTPAction(url: server.url), identity: Self.identity, timeout: .seconds(5), stop: StopSignal())
        #expect(result.outcome == .succeeded)
        #expect(result.output?.utf8.count == 4096)
    }

    @Test func aSlowServerTimesOut() async throws {
        let server = try TestHTTPServer { _ in .init(status: 200, hang: true) }
        defer { server.stop() }
        let clock = ContinuousClock()
        let started = clock.now
        let result = await runner.run(
            HTTPAction(url: server.url, timeout: .milliseconds(300)), identity: Self.identity, timeout: .milliseconds(300),
            stop: StopSignal())
        #expect(result.outcome == .timedOut)
        // Far below the 30 s the child would otherwise run (a loose bound: CI machines are busy).
        #expect(clock.now - started < .seconds(20))
    }

    @Test func aStopCancelsTheRequestAtOnce() async throws {
        let server = try TestHTTPServer { _ in .init(status: 200, hang: true) }
        defer { server.stop() }
        let stop = StopSignal()
        async let result = runner.run(HTTPAction(url: server.url), identity: Self.identity, timeout: .seconds(60), stop: stop)
        try await waitUntil { !server.requests.isEmpty }
        stop.send(.fenced)
        #expect(await result.outcome == .cancelled)
    }

    // The deny list is judged on the address of each connection, after resolution. These tests deny loopback so the
    // refused request would have gone to a local server (it never sends a packet off this machine, even if the
    // check were broken), and prove the server never hears of it. The metadata addresses themselves are tested as
    // decisions only (HTTPDenyListTests).
    static let loopbackDenied = try! HTTPDenyList(parsing: "127.0.0.0/8,::1/128")

    @Test(arguments: ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
    func aDeniedAddressIsRefusedAtConnectTimeAndNothingArrives(host: String) async throws {
        let server = try TestHTTPServer { _ in .init(status: 200, body: "should never answer") }
        defer { server.stop() }
        let guarded = HTTPActionRunner(deny: Self.loopbackDenied)
        defer { guarded.close() }
        let result = await guarded.run(
            HTTPAction(method: "POST", url: "http://\(host):\(server.port)/run", body: "{}"), identity: Self.identity,
            timeout: .seconds(5), stop: StopSignal())
        #expect(result.outcome == .failed)
        #expect(result.status == nil)
        #expect(result.output?.hasPrefix("address_denied: refused to connect to ") == true, "\(result.output ?? "")")
        #expect(result.output?.contains("127.0.0.1 (in 127.0.0.0/8)") == true || result.output?.contains("::1 (in ::1/128)") == true)
        // Had the request gone out, the server would have recorded it by now: the runner waits for the response.
        #expect(server.requests.isEmpty)
    }

    @Test(
        .enabled(if: getuid() == 0, "needs root (CAP_SYS_ADMIN) for unshare(CLONE_NEWNET); the decision tests cover the ranges"),
        arguments: ["http://169.254.169.254/latest/meta-data", "http://[fe80::1]/", "http://[::ffff:169.254.169.254]/",
            "http://[fd00:ec2::254]/", "http://100.100.100.200/"])
    func theDefaultListRefusesMetadataAddressesInsideAnEmptyNetworkNamespace(url: String) async throws {
        // The runner's transport thread lives in a fresh network namespace (no interfaces up): even if the guard
        // were broken, the connect would fail with "network unreachable" and no packet could leave this machine.
        guard let runner = IsolatedRunner.make() else {
            Issue.record("running as root, yet unshare(CLONE_NEWNET) failed")
            return
        }
        defer { runner.close() }
        // First prove the isolation: from inside, even this host's loopback server is out of reach.
        let server = try TestHTTPServer { _ in .init(status: 200) }
        defer { server.stop() }
        let local = await runner.run(HTTPAction(url: server.url), identity: Self.identity, timeout: .seconds(5), stop: StopSignal())
        try #require(local.output?.hasPrefix("request_failed:") == true, "not isolated: \(local.output ?? "")")
        #expect(server.requests.isEmpty)

        let result = await runner.run(HTTPAction(url: url), identity: Self.identity, timeout: .seconds(5), stop: StopSignal())
        #expect(result.outcome == .failed)
        #expect(result.output?.hasPrefix("address_denied: refused to connect to ") == true, "\(result.output ?? "")")
    }

    @Test func theSameServerIsReachedWhenLoopbackIsNotDenied() async throws {
        // The control for the test above: the only difference is the deny list.
        let server = try TestHTTPServer { _ in .init(status: 200, body: "hello") }
        defer { server.stop() }
        let result = await runner.run(
            HTTPAction(method: "POST", url: "http://localhost:\(server.port)/run", body: "{}"), identity: Self.identity,
            timeout: .seconds(5), stop: StopSignal())
        #expect(result == ActionResult(outcome: .succeeded, status: 200, output: "hello"))
        #expect(server.requests.count == 1)
    }

    @Test func methodsAndBodiesReachTheServerAsWritten() async throws {
        let server = try TestHTTPServer { _ in .init(status: 200) }
        defer { server.stop() }
        for (method, body) in [("PUT", "x=1"), ("DELETE", nil), ("PATCH", "{}"), ("GET", nil), ("POST", nil)] as [(String, String?)] {
            let result = await runner.run(
                HTTPAction(method: method, url: server.url + "/m", body: body), identity: Self.identity, timeout: .seconds(5),
                stop: StopSignal())
            #expect(result.outcome == .succeeded, "\(method): \(result.output ?? "")")
        }
        #expect(server.requests.map(\.method) == ["PUT", "DELETE", "PATCH", "GET", "POST"])
        #expect(server.requests.map(\.body) == ["x=1", "", "{}", "", ""])
    }

    @Test func loopbackIsNotLinkLocal() async throws {
        let server = try TestHTTPServer { _ in .init(status: 204) }
        defer { server.stop() }
        let result = await runner.run(
            HTTPAction(url: "http://localhost:\(server.port)/"), identity: Self.identity, timeout: .seconds(5), stop: StopSignal())
        #expect(result.outcome == .succeeded)
    }

    @Test func anInvalidURLFailsClearly() async {
        let result = await runner.run(HTTPAction(url: "ftp://example.com/x"), identity: Self.identity, timeout: .seconds(1), stop: StopSignal())
        #expect(result.outcome == .failed)
        #expect(result.output?.hasPrefix("invalid_url") == true)
    }
}

/// Polls `condition` until it holds, failing the test after `timeout` instead of hanging.
func waitUntil(
    timeout: Duration = .seconds(10), _ what: String = "condition", sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    guard try await eventually(timeout: timeout, condition) else {
        Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
        throw WaitTimeout()
    }
}

struct WaitTimeout: Error {}

/// An `HTTPActionRunner` whose transport thread was started by a thread that first left this process's network
/// namespace (`unshare(CLONE_NEWNET)` applies to the calling thread; threads it creates inherit it), so every
/// socket the runner opens is in an empty namespace. nil where namespaces cannot be created.
enum IsolatedRunner {
    private typealias Unshare = @convention(c) (Int32) -> Int32
    private static let cloneNewNet: Int32 = 0x4000_0000

    static func make() -> HTTPActionRunner? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "unshare") else { return nil }
        let unshare = unsafeBitCast(symbol, to: Unshare.self)
        let made = Mutex<HTTPActionRunner??>(nil)
        let thread = Thread {
            let runner = unshare(cloneNewNet) == 0 ? HTTPActionRunner() : nil
            made.withLock { $0 = .some(runner) }
        }
        thread.start()
        // The thread only makes one runner; bounded wait for it.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let result = made.withLock({ $0 }) { return result }
            usleep(1000)  // poll interval of a wait bounded by `deadline` (a plain thread, no async to await on)
        }
        return nil
    }
}
