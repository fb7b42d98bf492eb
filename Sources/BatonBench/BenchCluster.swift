import BatonCore
import BatonPostgres
import BatonSQLite
import BatonStore
import Foundation
import Logging
import PostgresNIO

/// The processes one benchmark starts: `baton scheduler` / `baton executor` children of this same binary
/// (`/proc/self/exe`), on one temporary SQLite file or a fresh PostgreSQL database (`--db postgres://…`, created for
/// the run and dropped after it). It stops only what it started, by PID, and every
/// wait is bounded. ``start(role:name:arguments:environment:)`` takes any role, so the `gateway`
/// benchmark (once the HTTP gateway is merged) starts `baton gateway` the same way.
final class BenchCluster {
    struct Child {
        let name: String
        let role: String
        let process: Process
        let logURL: URL
        var pid: Int32 { process.processIdentifier }
    }

    let directory: URL
    /// What `BATON_DB` says to the children: the SQLite file, or the run's PostgreSQL database URL.
    let databaseURL: String
    private let postgres: PostgresRun?
    private var opened: BenchDatabase?
    let logLevel: String
    let keep: Bool
    private(set) var children: [Child] = []
    let clock = SystemWallClock()

    init(options: BenchOptions) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "baton-bench-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        logLevel = options.logLevel
        keep = options.keepData
        if let url = options.db {
            let run = try PostgresRun(url)
            postgres = run
            databaseURL = run.url
        } else {
            postgres = nil
            databaseURL = directory.appendingPathComponent("baton.sqlite").path
        }
    }

    var backendName: String { postgres == nil ? "sqlite" : "postgres" }

    /// Runs one benchmark on a fresh cluster and always stops its processes and cleans up, success or not.
    static func measuring(_ options: BenchOptions, _ body: (BenchCluster) async throws -> Void) async throws {
        let cluster = try BenchCluster(options: options)
        do {
            try await cluster.postgres?.create()
            try await body(cluster)
        } catch {
            await cluster.shutdown()
            throw error
        }
        await cluster.shutdown()
    }

    /// Opens (and migrates) the benchmark's database in this process, for seeding and read-outs.
    func openDatabase() async throws -> BenchDatabase {
        if let opened { return opened }
        let database: BenchDatabase
        if let postgres {
            let backend = try await postgres.open()
            database = BenchDatabase(stores: backend.stores, bench: PostgresBenchmarkStore(backend: backend), sqlite: nil)
        } else {
            let sqlite = try BatonDatabase(StoreConfiguration(path: databaseURL))
            try sqlite.migrate()
            database = BenchDatabase(stores: .sqlite(sqlite), bench: SQLiteBenchmarkStore(sqlite), sqlite: sqlite)
        }
        opened = database
        return database
    }

    static var executable: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    }

    @discardableResult
    func start(role: String, name: String, arguments: [String], environment: [String: String] = [:]) throws -> Child {
        let logURL = directory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        let process = Process()
        process.executableURL = BenchCluster.executable
        process.arguments = [role] + arguments
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        env["BATON_DB"] = databaseURL
        env["BATON_LOG_LEVEL"] = logLevel
        env.merge(environment) { _, new in new }
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let child = Child(name: name, role: role, process: process, logURL: logURL)
        children.append(child)
        return child
    }

    @discardableResult
    func startScheduler(name: String, port: Int, leaseTTL: String) throws -> Child {
        try start(
            role: "scheduler", name: name,
            arguments: ["--dispatch-bind", "tcp://127.0.0.1:\(port)", "--lease-ttl", leaseTTL, "--scheduler-id", name])
    }

    @discardableResult
    func startExecutor(name: String, ports: [Int], capacity: Int) throws -> Child {
        try start(
            role: "executor", name: name,
            arguments: [
                "--schedulers", ports.map { "tcp://127.0.0.1:\($0)" }.joined(separator: ","),
                "--executor-capacity", "\(capacity)", "--executor-id", name,
            ])
    }

    func child(named name: String) -> Child? { children.first { $0.name == name } }

    /// Fails with the child's log tail when a child exited early.
    func checkAlive(except killed: Set<String> = []) throws {
        for child in children where !killed.contains(child.name) && !child.process.isRunning {
            throw BenchFailure("\(child.name) exited with status \(child.process.terminationStatus):\n\(logTail(child))")
        }
    }

    func logTail(_ child: Child, lines: Int = 20) -> String {
        let text = (try? String(contentsOf: child.logURL, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Waits (bounded) until `leader` holds the lease and `executors` executors have registered.
    func waitReady(database: BenchDatabase, leader: String, executors: Int, timeout: Duration = .seconds(30)) async throws {
        let leases = database.stores.leases
        let nodes = database.stores.nodes
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            try checkAlive()
            let now = clock.now()
            let lease: LeaderLease? = try await leases.current()
            let seen: [ExecutorNode] = try await nodes.executors(seenSince: now - .seconds(10))
            if let lease, lease.holder == leader, lease.leaseExpiresAt > now, seen.count >= executors { break }
            guard ContinuousClock.now < deadline else { throw BenchFailure("the cluster was not ready within \(timeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        // Executors announce HELLO and CREDIT at start and every second; let one round arrive.
        try await Task.sleep(for: .milliseconds(1100))
    }

    /// Peak resident set (VmHWM) of every child still running, in MB.
    func peakRSS() -> [String: Double] {
        var result: [String: Double] = [:]
        for child in children where child.process.isRunning {
            if let kB = ProcStat.statusField(pid: child.pid, "VmHWM") { result[child.name] = Double(kB) / 1024 }
        }
        return result
    }

    /// SIGKILL one child (by its PID) and reap it.
    func kill(_ child: Child) {
        if child.process.isRunning { Glibc.kill(child.pid, SIGKILL) }
        child.process.waitUntilExit()
    }

    /// Stops every child and removes the temporary directory (unless `--keep-data`).
    func shutdown() async {
        await stopAll()
        await postgres?.finish(dropping: !keep)
        if keep {
            FileHandle.standardError.write(Data("bench data kept in \(directory.path)\n".utf8))
        } else {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// SIGTERM every child we started, wait up to `grace`, SIGKILL what is left.
    func stopAll(grace: Duration = .seconds(15)) async {
        for child in children where child.process.isRunning {
            Glibc.kill(child.pid, SIGTERM)
        }
        let deadline = ContinuousClock.now.advanced(by: grace)
        while children.contains(where: { $0.process.isRunning }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for child in children where child.process.isRunning {
            Glibc.kill(child.pid, SIGKILL)
            child.process.waitUntilExit()
        }
    }

    /// A TCP port free right now on 127.0.0.1 (bound to port 0, read back, closed).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchFailure("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Bool in
                bind(fd, sa, length) == 0 && getsockname(fd, sa, &length) == 0
            }
        }
        guard bound else { throw BenchFailure("could not find a free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// /proc readings for the benchmarks (Linux).
enum ProcStat {
    /// A `kB` field of /proc/PID/status, such as `VmRSS` or `VmHWM`.
    static func statusField(pid: Int32, _ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }

    /// User + system CPU seconds a process has used so far.
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A bounded wait, written as a plain loop at each call site (`while try await deadline.pause() { … }`):
/// Swift 6.3's optimizer crashed (signal 11 splitting coroutines) on a closure-taking polling helper.
struct BenchDeadline {
    let end: ContinuousClock.Instant
    let interval: Duration

    init(_ timeout: Duration, interval: Duration = .milliseconds(50)) {
        end = ContinuousClock.now.advanced(by: timeout)
        self.interval = interval
    }

    var expired: Bool { ContinuousClock.now >= end }

    /// Sleeps one interval; false once the deadline has passed.
    func pause() async throws -> Bool {
        guard !expired else { return false }
        try await Task.sleep(for: interval)
        return true
    }
}

/// A benchmark run's own PostgreSQL database on the server `--db` names: created before the run (through a client on
/// the named database), dropped after it, so every run starts empty and none touches the named database's data.
final class PostgresRun {
    let server: DatabaseLocation.PostgresURL
    let name: String
    /// The run's database as `BATON_DB` says it, password included (children need it; it is never printed).
    let url: String
    private var clients: [Task<Void, Never>] = []
    private var admin: PostgresBackend?
    /// Errors only: the client warns when a query is queued before its `run()` task has started, which is harmless.
    private static let logger: Logger = {
        var logger = Logger(label: "baton.bench.postgres")
        logger.logLevel = .error
        return logger
    }()

    init(_ text: String) throws {
        guard case .postgres(let server) = try DatabaseLocation(parsing: text) else {
            throw BenchFailure("--db must be a postgres:// URL (the default is a temporary SQLite file)")
        }
        self.server = server
        name = "baton_bench_\(ProcessInfo.processInfo.processIdentifier)_\(UInt32.random(in: 0...UInt32.max))"
        guard var components = URLComponents(string: text) else { throw BenchFailure("--db: not a URL") }
        components.path = "/" + name
        guard let url = components.string else { throw BenchFailure("--db: cannot name the run's database") }
        self.url = url
    }

    private func start(_ backend: PostgresBackend) {
        clients.append(Task { await backend.client.run() })
    }

    /// CREATE DATABASE for the run. The name is generated (letters, digits, `_`): an identifier, never a parameter.
    func create() async throws {
        let admin = PostgresBackend(server, maximumConnections: 1, logger: Self.logger)
        start(admin)
        self.admin = admin
        do {
            try await admin.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Self.logger)
        } catch {
            throw BenchFailure("cannot create database \(name) on \(server): \(String(reflecting: error))")
        }
    }

    /// A migrated backend on the run's database, for seeding and read-outs.
    func open() async throws -> PostgresBackend {
        var location = server
        location.database = name
        let backend = PostgresBackend(location, maximumConnections: PostgresBenchmarkStore.parallelism + 2, logger: Self.logger)
        start(backend)
        try await backend.prepare()
        return backend
    }

    /// Stops this process's clients, then drops the run's database (`WITH (FORCE)` ends the children's sessions).
    func finish(dropping: Bool) async {
        if dropping, let admin {
            _ = try? await admin.client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: Self.logger)
        } else if !dropping {
            FileHandle.standardError.write(Data("bench database kept: \(name) on \(server)\n".utf8))
        }
        for client in clients { client.cancel() }
        clients = []
    }
}
