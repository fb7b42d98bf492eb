import ArgumentParser
import BatonCore
import BatonPostgres
import BatonSQLite
import BatonStore
import Foundation
import Logging
import ServiceLifecycle

/// `baton up`: Baton on one machine — a scheduler, N executors and the gateway as child
/// processes sharing one database: an embedded SQLite file by default, or the PostgreSQL database `--db` names.
/// Ctrl-C stops them all cleanly.
struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scheduler, executors and the gateway locally on one SQLite file (or a PostgreSQL database).",
        discussion: "Commands are allowed (BATON_ALLOW_COMMANDS=true) because everything runs as you, on your machine."
    )

    @Option(help: "How many executors to start.")
    var executors = 2

    @Option(help: "Directory for the database, the API token and the dispatch keys (DIR/keys) (env BATON_DATA, default ./.baton).")
    var data: String?

    @Option(
        name: .customLong("db"),
        help: "postgres://user:password@host:port/database, or an SQLite file (env BATON_DB, default DATA/baton.sqlite).")
    var database: String?

    @Option(help: "Gateway HTTP port on 127.0.0.1.")
    var port = 8080

    @Flag(help: "Add example jobs (an HTTP cron job, an interval command, a one-off).")
    var demo = false

    @Option(help: "trace, debug, info, notice, warning, error or critical (env BATON_LOG_LEVEL, default info).")
    var logLevel: String?

    func validate() throws {
        guard (1...64).contains(executors) else { throw ValidationError("--executors must be from 1 to 64") }
        guard (1...65535).contains(port) else { throw ValidationError("--port must be from 1 to 65535") }
    }

    func run() async throws {
        let common = try CommonOptions.parse(logLevel.map { ["--log-level", $0] } ?? [])
        let logger = try common.logger(role: "up")
        let directory = URL(fileURLWithPath: Settings.string(data, env: "BATON_DATA", default: "./.baton")).standardizedFileURL
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let databaseSetting = Settings.string(database, env: "BATON_DB", default: directory.appendingPathComponent("baton.sqlite").path)
        let location = try reportingFailures { try Self.location(databaseSetting) }
        let tokenPath = directory.appendingPathComponent("token").path
        let loaded: TokenFile.Loaded
        do {
            loaded = try TokenFile.load(orCreateAt: tokenPath)
        } catch {
            throw ValidationError("--data / BATON_DATA: \(error.description)")
        }
        if let reason = loaded.replaced {
            logger.warning("wrote a new API token", metadata: ["file": "\(tokenPath)", "reason": "\(reason)"])
        }
        let token = loaded.token
        // The dispatch link is on loopback, where keys are optional; using them anyway means a local process
        // that is not part of this cluster cannot take its tickets, and `baton up` exercises the deployed setup.
        let keys = try DispatchKeyDirectory.ensure(directory.appendingPathComponent("keys"))
        let dispatchPort = Self.availablePort(preferring: 7710)
        let apiURL = "http://127.0.0.1:\(port)"

        // The schema (and the demo jobs) before any child starts; the children migrate too, which is then a no-op.
        let databaseDescription = try await Self.prepare(location, demo: demo ? apiURL : nil, logger: logger)

        let shared = [
            "BATON_DB": databaseSetting,
            "BATON_DISPATCH_BIND": "tcp://127.0.0.1:\(dispatchPort)",
            "BATON_SCHEDULERS": "tcp://127.0.0.1:\(dispatchPort)",
            "BATON_API_TOKEN": token,
            "BATON_ALLOW_COMMANDS": "true",
            "BATON_HTTP_BIND": "127.0.0.1:\(port)",
        ]
        func environment(_ role: String) -> [String: String] {
            shared.merging(keys.environment(role: role)) { _, new in new }
        }
        var children = [LocalCluster.Child(name: "scheduler", arguments: ["scheduler"], environment: environment("scheduler"))]
        for n in 1...executors {
            children.append(.init(name: "executor-\(n)", arguments: ["executor"], environment: environment("executor")))
        }
        children.append(.init(name: "gateway", arguments: ["gateway"], environment: environment("gateway")))

        // Written unbuffered so it appears before the children's output.
        FileHandle.standardOutput.write(Data(
            """
            Baton is starting: 1 scheduler, \(executors) executor\(executors == 1 ? "" : "s"), the gateway.
              database   \(databaseDescription)
              dispatch   tcp://127.0.0.1:\(dispatchPort), CURVE keys in \(keys.directory.path)
              API        \(apiURL)   (token in \(tokenPath), mode 0600)
              Console    \(apiURL)/   (sign in with the token)
              CLI        \(Self.shellQuoted(CommandLine.arguments[0])) jobs list --url \(apiURL) --data \(Self.shellQuoted(directory.path))
              add a job  curl -H "Authorization: Bearer \(token)" -H 'Content-Type: application/json' \\
                           -d '{"name":"hello","schedule":{"every":"10s"},"action":{"noop":{}}}' \(apiURL)/v1/jobs
            Press Ctrl-C to stop.

            """.utf8))
        let cluster = LocalCluster(children: children, logger: logger)
        try await ServiceGroup(services: [cluster], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        print("Baton stopped.")
    }

    /// `--db` / `BATON_DB`, parsed; a URL of an unknown scheme is a usage error (exit 2).
    static func location(_ text: String) throws(CLIFailure) -> DatabaseLocation {
        do {
            return try DatabaseLocation(parsing: text)
        } catch {
            throw .usage(error.description.replacingOccurrences(of: "BATON_DB:", with: "BATON_DB / --db:"))
        }
    }

    /// Migrates the database and, for `--demo` (`demoAPI` set), adds the example jobs; returns the database for the
    /// banner (a PostgreSQL URL without its password). A database that cannot be opened exits 1, naming the problem.
    static func prepare(_ location: DatabaseLocation, demo demoAPI: String?, logger: Logger) async throws -> String {
        do {
            switch location {
            case .sqlite(let path):
                let database = try BatonDatabase(StoreConfiguration(path: path))
                try database.migrate()
                if let demoAPI { try await installDemo(in: SQLiteJobStore(database), apiURL: demoAPI, logger: logger) }
                return path
            case .postgres(let url):
                // A short-lived client: each role opens its own pool.
                let backend = PostgresBackend(url, maximumConnections: 1, logger: logger)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await backend.client.run() }
                    defer { group.cancelAll() }
                    try await backend.prepare()
                    if let demoAPI { try await installDemo(in: backend.stores.jobs, apiURL: demoAPI, logger: logger) }
                }
                return "\(url)"
            }
        } catch let error as StoreError {
            FileHandle.standardError.write(Data("error: database: \(error.message)\n".utf8))
            throw ExitCode.failure
        }
    }

    private static func installDemo(in jobs: any JobStore, apiURL: String, logger: Logger) async throws {
        let created = try await DemoJobs.install(in: jobs, apiURL: apiURL, now: SystemWallClock().now())
        logger.info("demo jobs ready", metadata: ["created": "\(created.joined(separator: ", "))"])
    }

    /// `text` as one shell word, so the printed command runs as shown.
    static func shellQuoted(_ text: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:=@")
        let plain = !text.isEmpty && text.unicodeScalars.allSatisfy(safe.contains)
        return plain ? text : "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    /// `preferred` if nothing listens there, else a free ephemeral port.
    static func availablePort(preferring preferred: Int) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        for candidate in [preferred, 0] {
            address.sin_port = UInt16(candidate).bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { continue }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            return Int(UInt16(bigEndian: address.sin_port))
        }
        return preferred
    }
}

/// Example jobs for `baton up --demo`; existing jobs with the same names are left alone.
enum DemoJobs {
    static func specs(apiURL: String, now: Timestamp) -> [JobSpec] {
        [
            JobSpec(
                name: "demo-healthz", schedule: ScheduleSpec(.cron("* * * * *")),
                action: .http(HTTPAction(method: "GET", url: "\(apiURL)/healthz", timeout: .seconds(5))),
                labels: ["demo": "true"]),
            JobSpec(
                name: "demo-hello", schedule: ScheduleSpec(.every(.seconds(10))),
                action: .command(CommandAction(argv: ["/bin/sh", "-c", "echo hello from $BATON_JOB, ticket $BATON_TICKET"], timeout: .seconds(5))),
                labels: ["demo": "true"]),
            JobSpec(
                name: "demo-once", schedule: ScheduleSpec(.at(now + .seconds(30))), action: .noop,
                labels: ["demo": "true"]),
        ]
    }

    static func install(in jobs: any JobStore, apiURL: String, now: Timestamp) async throws -> [String] {
        var created: [String] = []
        for spec in specs(apiURL: apiURL, now: now) where try await jobs.job(named: spec.name) == nil {
            _ = try await jobs.create(spec, now: now)
            created.append(spec.name)
        }
        return created
    }
}
