import ArgumentParser
import BatonCore
import BatonSQLite
import BatonStore
import Foundation

/// Job specs the benchmarks create, parsed by the same validator the gateway uses.
enum BenchJobs {
    static func spec(name: String, schedule: String, overlap: String = "allow") throws -> JobSpec {
        let json = """
            {"name": "\(name)", "schedule": \(schedule), "action": {"noop": {}}, "policy": {"overlap": "\(overlap)"}}
            """
        do {
            return try JobSpec.parse(json: Data(json.utf8))
        } catch {
            throw BenchFailure("benchmark job spec does not validate: \(error)")
        }
    }
}

/// `baton bench throughput`: N `noop` tickets due now, scheduler + 2 executors → tickets/s due → succeeded.
struct ThroughputBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput",
        abstract: "Tickets per second from due to succeeded, all due at once (target ≥ 20,000/s).",
        discussion: """
            Starts a scheduler and the executors on a temporary database and waits until the leader and the \
            executors are up. Writes the tickets as manual triggers (what the gateway writes, idempotency keys \
            included) in transactions of --batch, spread over --jobs noop jobs, due in the far future; then makes \
            them all due at one instant T, 300 ms ahead. The rate is succeeded / (last finished_at − T), read back \
            from the database. With --while-writing the tickets are due as written and the clock runs from the \
            first created_at, so the writing competes with the run and is part of the time.
            """)

    @OptionGroup var options: BenchOptions

    @Option(help: "Tickets to run.")
    var tickets = 100_000

    @Option(help: "Jobs the tickets are spread over (overlap allow).")
    var jobs = 100

    @Option(help: "Executors.")
    var executors = 2

    @Option(help: "Capacity of each executor (BATON_EXECUTOR_CAPACITY).")
    var capacity = 1024

    @Option(help: "Tickets per writing transaction.")
    var batch = 5000

    @Option(help: "Give up after this many seconds.")
    var timeout = 300

    @Flag(help: "Make each ticket due as it is written and time from the first write (writing included).")
    var whileWriting = false

    func run() async throws {
        try await BenchCluster.measuring(options, measure)
    }

    func measure(_ cluster: BenchCluster) async throws {
        let database = try await cluster.openDatabase()
        let bench = database.bench
        let names = (0..<jobs).map { "throughput-\($0)" }
        _ = try await bench.createJobs(
            try names.map { try BenchJobs.spec(name: $0, schedule: #"{"at": "2100-01-01T00:00:00Z"}"#) },
            now: cluster.clock.now())

        let port = try BenchCluster.freePort()
        try cluster.startScheduler(name: "scheduler-1", port: port, leaseTTL: "10s")
        for index in 1...executors {
            try cluster.startExecutor(name: "executor-\(index)", ports: [port], capacity: capacity)
        }
        try await cluster.waitReady(database: database, leader: "scheduler-1", executors: executors)

        let writeStart = ContinuousClock.now
        let parked = whileWriting ? nil : cluster.clock.now() + .seconds(3600)
        try await bench.triggerMany(jobNames: names, count: tickets, batch: batch, dueAt: parked, clock: cluster.clock)
        let writeSeconds = (ContinuousClock.now - writeStart).seconds
        var dueAt: Timestamp?
        if parked != nil {
            // The leader notices within its 250 ms poll; 300 ms ahead, every ticket is due at the same instant.
            let instant = cluster.clock.now() + .milliseconds(300)
            try await bench.releasePending(at: instant)
            dueAt = instant
        }

        var rss: [String: Double] = [:]
        let finish = BenchDeadline(.seconds(Int64(timeout)), interval: .milliseconds(100))
        var done = false
        repeat {
            try cluster.checkAlive()
            rss = cluster.peakRSS()
            done = try await bench.unfinishedCount() == 0
            if done { break }
        } while try await finish.pause()
        guard done else { throw BenchFailure("tickets still unfinished after \(timeout) s") }
        rss = cluster.peakRSS()

        let times = try await bench.ticketTimes(createdSince: Timestamp(milliseconds: 0))
        let census = try await bench.census()
        guard let firstWritten = times.map(\.createdAt).min(), let last = times.compactMap(\.finishedAt).max() else {
            throw BenchFailure("no tickets were written")
        }
        let first = dueAt?.milliseconds ?? firstWritten
        let seconds = Double(last - first) / 1000
        let rate = Double(census.count(.succeeded)) / max(seconds, 0.001)
        let toFinished = Percentiles(times.compactMap { t in t.finishedAt.map { $0 - t.notBefore } })

        let settings: [String: Any] = [
            "tickets": tickets, "jobs": jobs, "executors": executors, "capacity": capacity, "batch": batch,
            "sync": "normal", "ticketsWrittenAs": "manual triggers",
            "clockStartsAt": whileWriting ? "first ticket written" : "all tickets due",
        ]
        var figures: [String: Any] = [
            "ticketsPerSecond": Int(rate), "elapsedSeconds": (seconds * 1000).rounded() / 1000,
            "writeSeconds": (writeSeconds * 1000).rounded() / 1000, "succeeded": census.count(.succeeded),
            "notSucceeded": census.total - census.count(.succeeded),
            "duplicates": census.duplicateSlots + census.ticketsRunMoreThanOnce,
            "maxRssMB": BenchReport.megabytes(rss.values.max() ?? 0),
            "rssMB": rss.mapValues(BenchReport.megabytes),
        ]
        figures.merge(toFinished.figures("dueToFinished")) { _, new in new }
        try BenchReport.emit(
            benchmark: "throughput", options: options, settings: settings, figures: figures,
            summary: [
                "throughput: \(census.count(.succeeded)) of \(tickets) noop tickets succeeded in \(String(format: "%.3f", seconds)) s "
                    + "(writing took \(String(format: "%.3f", writeSeconds)) s)",
                "  \(Int(rate)) tickets/s \(whileWriting ? "written" : "due") → succeeded (target ≥ 20000)",
                "  due → finished: \(toFinished.line)",
                "  not succeeded: \(census.total - census.count(.succeeded)); tickets run more than once: \(census.ticketsRunMoreThanOnce)",
            ] + BenchReport.rssLines(rss))
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
