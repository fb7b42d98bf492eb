import BatonCore
import Foundation
import Synchronization

/// A `baton` child process started by a test, with its log captured to a file. Tests stop only
/// the processes they started, by PID, and every wait is bounded.
public final class BatonProcess {
    public let process: Process
    public let logURL: URL
    public let role: String

    /// The built `baton` next to the test bundle (`swift build --build-tests` builds both).
    public static var executable: URL {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [
            bundleDirectory.appendingPathComponent("baton"),
            bundleDirectory.deletingLastPathComponent().appendingPathComponent("baton"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/baton"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[2]
    }

    /// - Parameter launcher: a command that execs `baton` in place (keeping the PID), e.g.
    ///   `["/usr/sbin/ip", "netns", "exec", "ns1"]` to run it inside a network namespace.
    public init(
        _ arguments: [String], environment: [String: String], directory: URL, name: String, launcher: [String] = []
    ) throws {
        role = name
        logURL = directory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process = Process()
        if let command = launcher.first {
            process.executableURL = URL(fileURLWithPath: command)
            process.arguments = Array(launcher.dropFirst()) + [BatonProcess.executable.path] + arguments
        } else {
            process.executableURL = BatonProcess.executable
            process.arguments = arguments
        }
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "BATON_LOG_LEVEL": "debug"]
        env.merge(environment) { _, new in new }
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits for the process to exit; SIGKILLs it if it has not within `timeout`.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(15)) async -> Int32 {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))  // polls the exit, bounded by `timeout`
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    public var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
public func eventually(timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))  // the poll step of `eventually`, bounded by its deadline
    }
    return try await condition()
}

/// A free TCP port on 127.0.0.1 for a child process to bind, below Linux's ephemeral range (32768–60999).
///
/// Why not port 0: the port it returns is ephemeral, and between closing the probe and the child's bind, any
/// outgoing connection (an executor dialing a scheduler, an HTTP client) may be given that very port as its local
/// end. That happened: a scheduler failed with "Address already in use" in the duplicates test. Ports below the
/// ephemeral range are never handed out for outgoing connections; each is probed by binding it, and none is
/// handed out twice by this process.
public func freePort() -> Int {
    for _ in 0..<1000 {
        let candidate = Int.random(in: 20_000..<32_000)
        guard issuedPorts.withLock({ $0.insert(candidate).inserted }) else { continue }
        if canBind(candidate) { return candidate }
    }
    preconditionFailure("no free TCP port in 20000..<32000 after 1000 tries")
}

private let issuedPorts = Mutex<Set<Int>>([])

private func canBind(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// A temporary directory for one multi-process test's database and logs. Deliberately kept afterwards: a failure's
/// message names the processes' logs, which are read there (a few MB each; the system clears its temporary folder).
public struct Workspace {
    public let directory: URL

    public init() throws {
        directory = try TemporaryDirectory("it").url
    }

    public var databasePath: String { directory.appendingPathComponent("baton.sqlite").path }
}

/// Lets `window` pass while the system runs: for tests whose subject *is* a span of time (a job running for
/// 10 s, a leader stopped for 2×TTL, a scheduler down until its slots are missed), never as a way to wait
/// for an event — use `eventually` for that. Callers measure what actually elapsed with a clock.
public func hold(_ window: Duration) async throws {
    guard window > .zero else { return }
    try await Task.sleep(for: window)  // the span of time is the subject (see above), never an event
}

/// Runs `sample` every `interval` for `window`, to check that something holds throughout a span of time
/// (for example, that the lease never changes hands for a TTL after a stalled leader resumes).
public func observe(for window: Duration, every interval: Duration, _ sample: () async throws -> Void) async throws {
    let start = ContinuousClock.now
    while ContinuousClock.now - start < window {
        try await sample()
        try await Task.sleep(for: interval)  // sampling period over a window that is itself the subject
    }
}
