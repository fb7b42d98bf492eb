import BatonCore
import BatonStore
import BatonTestSupport
import Foundation
import Testing

/// The end-to-end correctness suite (issue 7): real `baton` processes on one database, SQLite or PostgreSQL (each
/// suite runs on both, see ``Backend``).
///
/// Its suites are nested here so that `.serialized` covers all of them: each starts up to ten
/// processes, and CI runs the whole test target on 2 cores, so running them one after another keeps
/// their timing honest (other suites of the target may still run beside them).
@Suite("End to end", .serialized, .timeLimit(.minutes(3)))
struct EndToEndTests {}

/// Schedulers and executors started by one test, on one database. Every process is stopped by PID:
/// gracefully by `stopAll()`, and with SIGKILL by `BatonProcess.deinit` if a test ends early.
final class E2ECluster {
    let workspace: Workspace
    let database: TestDatabase
    /// Dispatch endpoint per scheduler id, kept across restarts.
    private(set) var schedulerEndpoints: [String: String] = [:]
    private(set) var processes: [BatonProcess] = []
    private var starts: [String: Int] = [:]

    init(_ backend: Backend) async throws {
        workspace = try Workspace()
        database = try await TestDatabase(backend, workspace: workspace)
    }

    var jobs: any JobStore { database.jobs }
    var ticketStore: any TicketStore { database.tickets }
    var leases: any LeaderLeaseStore { database.leases }
    var nodes: any NodeStore { database.nodes }

    /// Declares scheduler ids up front so executors can be given every endpoint before the schedulers start.
    func reserveSchedulers(_ ids: [String], host: String = "127.0.0.1") {
        for id in ids where schedulerEndpoints[id] == nil {
            schedulerEndpoints[id] = "tcp://\(host):\(freePort())"
        }
    }

    var allEndpoints: String { schedulerEndpoints.keys.sorted().compactMap { schedulerEndpoints[$0] }.joined(separator: ",") }

    /// Starts (or restarts) a scheduler; each start gets its own log file (`id.log`, `id.2.log`, …).
    @discardableResult
    func scheduler(_ id: String, leaseTTL: String = "3s", extra: [String: String] = [:]) throws -> BatonProcess {
        reserveSchedulers([id])
        let environment = [
            "BATON_DB": database.url, "BATON_DISPATCH_BIND": schedulerEndpoints[id]!,
            "BATON_LEASE_TTL": leaseTTL, "BATON_SCHEDULER_ID": id,
        ]
        return try start(["scheduler"], id: id, environment: environment.merging(extra) { _, new in new })
    }

    /// Starts (or restarts) an executor connected to every reserved scheduler endpoint.
    @discardableResult
    func executor(_ id: String, extra: [String: String] = [:], launcher: [String] = []) throws -> BatonProcess {
        let environment = ["BATON_DB": database.url, "BATON_SCHEDULERS": allEndpoints, "BATON_EXECUTOR_ID": id]
        return try start(["executor"], id: id, environment: environment.merging(extra) { _, new in new }, launcher: launcher)
    }

    private func start(_ arguments: [String], id: String, environment: [String: String], launcher: [String] = []) throws -> BatonProcess {
        starts[id, default: 0] += 1
        let name = starts[id]! == 1 ? id : "\(id).\(starts[id]!)"
        let process = try BatonProcess(arguments, environment: environment, directory: workspace.directory, name: name, launcher: launcher)
        processes.append(process)
        return process
    }

    /// SIGTERM to every live process, then a bounded wait for each (SIGKILL after 15 s).
    func stopAll() async {
        for process in processes where process.isRunning { process.signal(SIGTERM) }
        for process in processes { await process.waitForExit() }
    }

    /// The last lines of every process's log, for failure messages.
    func logs(_ characters: Int = 1500) -> String {
        processes.map { "--- \($0.role) (pid \($0.pid)) ---\n\($0.log.suffix(characters))" }.joined(separator: "\n")
    }

    func job(_ name: String) async throws -> Job? { try await jobs.job(named: name) }

    /// Every ticket of a job, across pages.
    func tickets(_ job: String) async throws -> [Ticket] {
        try await ticketStore.all(TicketFilter(jobName: job))
    }

    /// Tickets with their attempts (the list omits them).
    func ticketsWithAttempts(_ job: String) async throws -> [Ticket] {
        var result: [Ticket] = []
        for ticket in try await tickets(job) {
            if let full = try await ticketStore.ticket(ticket.id) { result.append(full) }
        }
        return result
    }

    /// Scheduled (non-manual) slots that have more than one ticket, across all jobs. Must be empty (CONTRACT §10.1).
    func duplicateSlots() async throws -> [String] { try await database.duplicateSlots() }
}

extension TestHTTPServer {
    /// Calls per `Idempotency-Key`.
    var keyCounts: [String: Int] {
        requests.reduce(into: [:]) { counts, request in counts[request.headers["idempotency-key"] ?? "none", default: 0] += 1 }
    }
}

/// `every` HTTP jobs that POST to the recording server.
func httpJob(
    _ name: String, url: String, every: TimeSpan = .seconds(1), policy: JobPolicy, endAt: Timestamp? = nil,
    timeout: TimeSpan = .seconds(30)
) -> JobSpec {
    JobSpec(
        name: name, schedule: ScheduleSpec(.every(every), endAt: endAt),
        action: .http(HTTPAction(method: "POST", url: url, body: "{}", timeout: timeout)), policy: policy)
}

func wallNow() -> Timestamp { SystemWallClock().now() }

/// A CURVE key set from `baton dispatch-keys --dir`, as the settings each role reads: what a cluster whose dispatch
/// port is on a real network uses (a scheduler refuses a non-loopback bind without keys).
struct DispatchKeySet {
    let scheduler: [String: String]
    let executor: [String: String]

    struct GenerationFailed: Error {
        var status: Int32
        var log: String
    }

    init(_ workspace: Workspace) async throws {
        let directory = workspace.directory.appendingPathComponent("keys")
        let maker = try BatonProcess(["dispatch-keys", "--dir", directory.path], environment: [:], directory: workspace.directory, name: "keys")
        let status = await maker.waitForExit()
        guard status == 0 else { throw GenerationFailed(status: status, log: maker.log) }
        func file(_ name: String) -> String { directory.appendingPathComponent(name).path }
        scheduler = ["BATON_DISPATCH_SECRET_KEY_FILE": file("scheduler.secret"), "BATON_DISPATCH_CLIENT_KEYS_FILE": file("clients")]
        executor = ["BATON_DISPATCH_SECRET_KEY_FILE": file("executor.secret"), "BATON_DISPATCH_SERVER_KEY_FILE": file("scheduler.public")]
    }
}
