import Foundation
import Logging
import PostgresNIO

/// One private PostgreSQL 15 cluster per test process, started on first use: `initdb` into a temporary directory
/// (trust authentication, user `baton`), `postgres` on 127.0.0.1 at a free port with durability off (a test cluster
/// is thrown away), stopped by its PID when the process exits. So that a crashed test run leaves nothing behind,
/// the server runs under a small watchdog shell that stops it, by PID, once the test process is gone.
///
/// Run as root (CI), initdb and postgres refuse to start; they then run as `nobody` (`setpriv`), owning the
/// temporary directory.
public final class PostgresCluster: Sendable {
    public let port: Int
    public let directory: URL
    /// The postmaster's PID, read from its `postmaster.pid` once it accepts connections.
    let postmaster: pid_t

    public static let binaries = "/usr/lib/postgresql/15/bin"
    public static let user = "baton"

    /// The process's cluster, or why it could not start (every PostgreSQL test then fails with that reason).
    public static let shared: Result<PostgresCluster, ClusterError> = {
        do throws(ClusterError) {
            let cluster = try PostgresCluster()
            atexit { PostgresCluster.stopShared() }
            return .success(cluster)
        } catch {
            return .failure(error)
        }
    }()

    public struct ClusterError: Error, CustomStringConvertible {
        public var description: String
    }

    private init() throws(ClusterError) {
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
        let asUser = try Self.unprivilegedPrefix(owning: directory)
        let data = directory.appendingPathComponent("data").path
        let log = directory.appendingPathComponent("server.log").path
        try Self.run(
            asUser + [initdb, "-D", data, "--auth=trust", "-U", Self.user, "-E", "UTF8", "--locale=C", "--no-sync"],
            log: directory.appendingPathComponent("initdb.log").path)
        port = try Self.freePort()
        // The watchdog: polls, once a second, whether the test process still lives (there is no event to await for
        // another process's death without being its parent); when it is gone, it stops the postmaster by PID.
        let server = (asUser + [
            "\(Self.binaries)/postgres", "-D", data, "-k", directory.path, "-h", "127.0.0.1", "-p", "\(port)",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
        ]).map(Self.quoted).joined(separator: " ")
        let watchdog = """
            \(server) >>\(Self.quoted(log)) 2>&1 &
            pg=$!
            while kill -0 \(getpid()) 2>/dev/null && kill -0 $pg 2>/dev/null; do sleep 1; done
            kill -TERM $pg 2>/dev/null
            i=0; while kill -0 $pg 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
            kill -KILL $pg 2>/dev/null
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
        postmaster = try Self.waitUntilAccepting(port: port, data: data, log: log)
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
    /// signal that it has finished starting. Returns the postmaster's PID.
    private static func waitUntilAccepting(port: Int, data: String, log: String) throws(ClusterError) -> pid_t {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: "\(binaries)/pg_isready")
            probe.arguments = ["-q", "-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", "postgres"]
            if (try? probe.run()) != nil {
                probe.waitUntilExit()
                if probe.terminationStatus == 0,
                    let pidText = try? String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8),
                    let first = pidText.split(separator: "\n").first, let pid = pid_t(first)
                {
                    return pid
                }
            }
            usleep(50_000)  // sound: bounded by the deadline, and pg_isready above is the event being awaited
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw ClusterError(description: "PostgreSQL did not accept connections on port \(port) within 30 s: \(text)")
    }

    private static func freePort() throws(ClusterError) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClusterError(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw ClusterError(description: "cannot find a free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// atexit: SIGTERM to the postmaster, up to 10 s for it to go, then SIGKILL; the watchdog removes the directory.
    private static func stopShared() {
        guard case .success(let cluster) = shared else { return }
        let pid = cluster.postmaster
        guard kill(pid, SIGTERM) == 0 else { return }
        let deadline = ContinuousClock.now + .seconds(10)
        while kill(pid, 0) == 0, ContinuousClock.now < deadline {
            usleep(20_000)  // sound: polls the postmaster's exit (not our child, so not waitable), bounded by the deadline
        }
        if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
    }

    /// A client configuration for `database` on this cluster.
    public func configuration(database: String, maximumConnections: Int = 4) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: "127.0.0.1", port: port, username: Self.user, password: nil, database: database, tls: .disable)
        configuration.options.maximumConnections = maximumConnections
        return configuration
    }
}
