import BatonPostgres
import BatonTestSupport
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// A private PostgreSQL 15 cluster: `initdb` into a temporary directory (trust authentication, user `baton`),
/// `postgres` on 127.0.0.1 at a free port with durability off (a test cluster is thrown away), stopped by its PID.
///
/// ``shared`` is the one cluster every test of a process uses, started on first use and stopped when the process
/// exits. ``makePrivate()`` gives a test a cluster of its own, which it may ``stop()`` and ``start()`` again on the
/// same port (a database restart during load). So that a crashed test run leaves nothing behind, every cluster has
/// a small watchdog shell that, once the test process is gone, stops the postmaster named in `postmaster.pid` by
/// that PID and removes the directory.
///
/// Run as root (CI), initdb and postgres refuse to start; they then run as `nobody` (`setpriv`), owning the
/// temporary directory.
public final class PostgresCluster: Sendable {
    public let port: Int
    public let directory: URL
    private let data: String
    /// Where the server listens: loopback, and a test network's address when asked for.
    private let listenAddresses: [String]
    private let log: String
    /// `setpriv` to `nobody` when the tests run as root, else empty.
    private let asUser: [String]
    /// The running postmaster's PID (our child: `setpriv` execs `postgres` in place), nil while stopped.
    private let postmaster = Mutex<pid_t?>(nil)

    public static let binaries = "/usr/lib/postgresql/15/bin"
    public static let user = "baton"

    /// The process's cluster, or why it could not start (every PostgreSQL test then fails with that reason).
    public static let shared: Result<PostgresCluster, ClusterError> = {
        do throws(ClusterError) {
            let cluster = try PostgresCluster()
            try cluster.launch()
            atexit { PostgresCluster.stopShared() }
            return .success(cluster)
        } catch {
            return .failure(error)
        }
    }()

    public struct ClusterError: Error, CustomStringConvertible {
        public var description: String
    }

    /// A cluster of the caller's own, running; it can be stopped and started again on the same port, and is stopped
    /// when released. Costs an `initdb` (about a second).
    /// `address`: an IPv4 address of this host on a test's virtual network (``VirtualNetwork``) on which the server
    /// listens too, trusting that /24, so that processes in other network namespaces reach it.
    public static func makePrivate(alsoListeningOn address: String? = nil) async throws -> PostgresCluster {
        let cluster = try await onThread { () throws(ClusterError) -> PostgresCluster in try PostgresCluster(alsoListeningOn: address) }
        try await cluster.start()
        return cluster
    }

    /// Creates the cluster's directory and watchdog; ``launch()`` starts the server.
    private init(alsoListeningOn address: String? = nil) throws(ClusterError) {
        listenAddresses = ["127.0.0.1"] + (address.map { [$0] } ?? [])
        let initdb = "\(Self.binaries)/initdb"
        guard FileManager.default.isExecutableFile(atPath: initdb) else {
            throw ClusterError(
                description: "PostgreSQL 15 is not installed (\(initdb) is missing): run scripts/install-deps.sh, "
                    + "which installs Debian's postgresql package")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-pg-\(getpid())-\(UUID().uuidString.prefix(8))")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ClusterError(description: "cannot create \(directory.path): \(error)")
        }
        asUser = try Self.unprivilegedPrefix(owning: directory)
        data = directory.appendingPathComponent("data").path
        log = directory.appendingPathComponent("server.log").path
        try Self.run(
            asUser + [initdb, "-D", data, "--auth=trust", "-U", Self.user, "-E", "UTF8", "--locale=C", "--no-sync"],
            log: directory.appendingPathComponent("initdb.log").path)
        if let address {
            let network = address.split(separator: ".").prefix(3).joined(separator: ".") + ".0/24"
            do {
                let hba = try FileHandle(forWritingTo: URL(fileURLWithPath: data + "/pg_hba.conf"))
                hba.seekToEndOfFile()
                hba.write(Data("host all all \(network) trust\n".utf8))
                try hba.close()
            } catch {
                throw ClusterError(description: "cannot trust \(network) in pg_hba.conf: \(error)")
            }
        }
        // Below the ephemeral range and never handed out twice by this process (BatonTestSupport's `freePort`): a
        // private cluster's port stays free while it is stopped, which an ephemeral one might not.
        port = freePort()
        // The watchdog: polls, once a second, whether the test process still lives (there is no event to await for
        // another process's death without being its parent); when it is gone, it stops the postmaster by the PID in
        // its `postmaster.pid` (absent when it was stopped cleanly) and removes the directory.
        let pidFile = Self.quoted(data + "/postmaster.pid")
        let watchdog = """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done  # polls: another process's exit gives no event to await
            pg=$(head -n 1 \(pidFile) 2>/dev/null)
            if [ -n "$pg" ] && kill -0 "$pg" 2>/dev/null; then
                kill -TERM "$pg" 2>/dev/null
                i=0; while kill -0 "$pg" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done  # bounded: 10 s
                kill -KILL "$pg" 2>/dev/null
            fi
            rm -rf \(Self.quoted(directory.path))
            """
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", watchdog]
        shell.standardInput = FileHandle.nullDevice
        shell.standardOutput = FileHandle.nullDevice
        shell.standardError = FileHandle.nullDevice
        do {
            try shell.run()
        } catch {
            throw ClusterError(description: "cannot start the PostgreSQL watchdog: \(error)")
        }
    }

    deinit {
        // A private cluster released while running: a fast shutdown, not awaited (the watchdog finishes the job
        // when the test process exits).
        if let pid = postmaster.withLock({ $0 }) { kill(pid, SIGINT) }
    }

    /// Starts the server on the cluster's port and returns once it accepts connections (at most 30 s).
    public func start() async throws {
        try await Self.onThread { () throws(ClusterError) in try self.launch() }
    }

    /// Stops the server with a fast shutdown (SIGINT to the postmaster: every session is disconnected, open
    /// transactions roll back, then a checkpoint), as `pg_ctl stop -m fast` and a container's stop do. Returns once
    /// the postmaster has exited; SIGKILL if it has not within `timeout`.
    public func stop(timeout: Duration = .seconds(10)) async throws {
        guard let pid = postmaster.withLock({ $0 }) else { return }
        kill(pid, SIGINT)
        let deadline = ContinuousClock.now + timeout
        while Self.isAlive(pid), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))  // polls the postmaster's exit (no async wait for it), bounded by `timeout`
        }
        if Self.isAlive(pid) {
            kill(pid, SIGKILL)
            throw ClusterError(description: "the postmaster (pid \(pid)) did not stop within \(timeout); killed")
        }
        postmaster.withLock { $0 = nil }
    }

    public var isRunning: Bool { postmaster.withLock { $0 != nil } }

    /// Blocking: runs `postgres` (our child, so `start()` calls this on a thread of its own) and waits until it
    /// accepts connections.
    private func launch() throws(ClusterError) {
        guard postmaster.withLock({ $0 == nil }) else { return }
        let arguments = asUser + [
            "\(Self.binaries)/postgres", "-D", data, "-k", directory.path, "-h", listenAddresses.joined(separator: ","),
            "-p", "\(port)", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
        ]
        let server = Process()
        server.executableURL = URL(fileURLWithPath: arguments[0])
        server.arguments = Array(arguments.dropFirst())
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        guard let output = FileHandle(forWritingAtPath: log) else { throw ClusterError(description: "cannot open \(log)") }
        output.seekToEndOfFile()
        server.standardInput = FileHandle.nullDevice
        server.standardOutput = output
        server.standardError = output
        do {
            try server.run()
        } catch {
            throw ClusterError(description: "cannot run \(arguments.joined(separator: " ")): \(error)")
        }
        let pid = server.processIdentifier
        postmaster.withLock { $0 = pid }
        do {
            try Self.waitUntilAccepting(port: port, postmaster: pid, log: log)
        } catch {
            kill(pid, SIGKILL)
            postmaster.withLock { $0 = nil }
            throw error
        }
    }

    /// Runs blocking work (initdb, polling `pg_isready`) on a thread of its own, so the test's cooperative threads
    /// (two on CI) are not held for seconds.
    private static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws(ClusterError) -> T) async throws(ClusterError) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, ClusterError>, Never>) in
            Thread {
                do throws(ClusterError) {
                    continuation.resume(returning: .success(try work()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }.start()
        }
        return try result.get()
    }

    /// `setpriv` to `nobody` when this process is root (PostgreSQL refuses to run as root), else nothing.
    private static func unprivilegedPrefix(owning directory: URL) throws(ClusterError) -> [String] {
        guard geteuid() == 0 else { return [] }
        guard let entry = getpwnam("nobody") else { throw ClusterError(description: "no user nobody to run PostgreSQL as") }
        guard chown(directory.path, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
            throw ClusterError(description: "cannot chown \(directory.path) to nobody: errno \(errno)")
        }
        return ["/usr/bin/setpriv", "--reuid=\(entry.pointee.pw_uid)", "--regid=\(entry.pointee.pw_gid)", "--clear-groups"]
    }

    private static func run(_ arguments: [String], log: String) throws(ClusterError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let output = FileHandle(forWritingAtPath: log)
        process.standardOutput = output
        process.standardError = output
        do {
            try process.run()
        } catch {
            throw ClusterError(description: "cannot run \(arguments.joined(separator: " ")): \(error)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw ClusterError(description: "\(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(text)")
        }
    }

    /// Polls `pg_isready` (a real connection attempt) every 50 ms, for at most 30 s: the postmaster gives no other
    /// signal that it has finished starting. Fails at once if the postmaster exits (a port taken, a bad setting).
    private static func waitUntilAccepting(port: Int, postmaster: pid_t, log: String) throws(ClusterError) {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            guard isAlive(postmaster) else { break }
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: "\(binaries)/pg_isready")
            probe.arguments = ["-q", "-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", "postgres"]
            if (try? probe.run()) != nil {
                probe.waitUntilExit()
                if probe.terminationStatus == 0 { return }
            }
            usleep(50_000)  // sound: bounded by the deadline, and pg_isready above is the event being awaited
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw ClusterError(description: "PostgreSQL did not accept connections on port \(port) within 30 s: \(text.suffix(3000))")
    }

    private static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// atexit: SIGTERM to the postmaster, up to 10 s for it to go, then SIGKILL; the watchdog removes the directory.
    private static func stopShared() {
        guard case .success(let cluster) = shared, let pid = cluster.postmaster.withLock({ $0 }) else { return }
        guard kill(pid, SIGTERM) == 0 else { return }
        let deadline = ContinuousClock.now + .seconds(10)
        while isAlive(pid), ContinuousClock.now < deadline {
            usleep(20_000)  // sound: polls the postmaster's exit (Foundation reaps it; no wait to block on here), bounded by the deadline
        }
        if isAlive(pid) { kill(pid, SIGKILL) }
    }

    /// Whether `pid` still runs: it exists and is not a zombie. The postmaster is our child, reaped by Foundation's
    /// `Process` monitor when it exits; until then `kill(pid, 0)` alone would still succeed.
    private static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        // `pid (comm) S …`: the state is the first field after the command name, which may itself contain spaces.
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// A client configuration for `database` on this cluster.
    public func configuration(database: String, maximumConnections: Int = 4) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: "127.0.0.1", port: port, username: Self.user, password: nil, database: database, tls: .disable)
        configuration.options.maximumConnections = maximumConnections
        return configuration
    }

    /// A client configuration for `database` with Baton's connection settings (pool size, server-side timeouts).
    public func configuration(database: String, settings: PostgresConnectionSettings) -> PostgresClient.Configuration {
        var configuration = configuration(database: database)
        configuration.apply(settings)
        return configuration
    }

    /// `database` as `BATON_DB` names it, for a `baton` child process (the cluster trusts loopback: no password).
    /// Creates an empty database `name` (letters, digits and `_`: an identifier, which cannot be a bind parameter), as
    /// a PostgreSQL image's `POSTGRES_DB` does.
    public func createDatabase(_ name: String) async throws {
        let admin = PostgresClient(configuration: configuration(database: "postgres", maximumConnections: 1))
        let run = Task { await admin.run() }
        defer { run.cancel() }
        try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
    }

    /// `host`: 127.0.0.1, or the address ``makePrivate(alsoListeningOn:)`` named, for processes in other namespaces.
    public func url(database: String, host: String = "127.0.0.1") -> String { "postgres://\(Self.user)@\(host):\(port)/\(database)" }
}
