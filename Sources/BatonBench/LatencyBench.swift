import ArgumentParser
import BatonCore
import BatonSQLite
import BatonStore
import Foundation

/// `baton bench latency`: --rate tickets per second spread evenly, for --seconds → due→claimed and due→finished.
struct LatencyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency",
        abstract: "Due → claimed and due → finished at 1,000 tickets/s spread evenly (p50 ≤ 2 ms, p99 ≤ 10 ms, p99.9 ≤ 50 ms).",
        discussion: """
            Creates --rate jobs `every: 1s` (noop, overlap allow) whose anchors are spread evenly over the second, \
            so one ticket falls due every 1000/--rate ms. The leader writes them ahead by its one-second lookahead; \
            only dispatch, claim, run and completion lie between due and claimed/finished. Figures come from the \
            database, in whole milliseconds: due = not_before, claimed = started_at (the executor's clock when \
            it sent the claim), finished = finished_at. The first --warmup seconds are not counted.
            """)

    @OptionGroup var options: BenchOptions

    @Option(help: "Tickets per second (one job per ticket per second).")
    var rate = 1000

    @Option(help: "Measured seconds.")
    var seconds = 30

    @Option(help: "Seconds run before measuring.")
    var warmup = 3

    @Option(help: "Executors.")
    var executors = 2

    @Option(help: "Capacity of each executor (BATON_EXECUTOR_CAPACITY).")
    var capacity = 16

    func run() async throws {
        guard (1...100_000).contains(rate), seconds >= 1, warmup >= 0 else {
            throw ValidationError("--rate must be 1...100000, --seconds ≥ 1, --warmup ≥ 0")
        }
        try await BenchCluster.measuring(options, measure)
    }

    func measure(_ cluster: BenchCluster) async throws {
        let database = try await cluster.openDatabase()
        let bench = database.bench
        let now = cluster.clock.now()
        let base = now.milliseconds - now.milliseconds % 1000
        let specs = try (0..<rate).map { index -> JobSpec in
            let anchor = Timestamp(milliseconds: base + Int64(index) * 1000 / Int64(rate))
            return try BenchJobs.spec(name: "latency-\(index)", schedule: #"{"every": "1s", "anchor": "\#(anchor.rfc3339Milliseconds)"}"#)
        }
        _ = try await bench.createJobs(specs, now: now)

        let port = try BenchCluster.freePort()
        try cluster.startScheduler(name: "scheduler-1", port: port, leaseTTL: "10s")
        for index in 1...executors {
            try cluster.startExecutor(name: "executor-\(index)", ports: [port], capacity: capacity)
        }
        try await cluster.waitReady(database: database, leader: "scheduler-1", executors: executors)

        let windowStart = cluster.clock.now() + .seconds(Int64(warmup))
        let windowEnd = windowStart + .seconds(Int64(seconds))
        if !options.json { print("latency: measuring \(rate) tickets/s for \(seconds) s after \(warmup) s of warm-up…") }
        try await Task.sleep(for: .seconds(warmup + seconds))
        // Tickets due in the window finish within moments; wait (bounded) for the stragglers.
        let settle = BenchDeadline(.seconds(30), interval: .milliseconds(100))
        var settled = false
        repeat {
            try cluster.checkAlive()
            settled = try await bench.unfinishedCount(dueBefore: windowEnd) == 0
            if settled { break }
        } while try await settle.pause()
        let rss = cluster.peakRSS()
        let times = try await bench.ticketTimes(createdSince: windowStart - .seconds(5)).filter {
            $0.notBefore >= windowStart.milliseconds && $0.notBefore < windowEnd.milliseconds
        }
        let census = try await bench.census()
        let claimed = Percentiles(times.compactMap { t in t.startedAt.map { $0 - t.notBefore } })
        let finished = Percentiles(times.compactMap { t in t.finishedAt.map { $0 - t.notBefore } })
        let writtenAhead = Percentiles(times.map { $0.notBefore - $0.createdAt })
        let expected = rate * seconds

        let settings: [String: Any] = [
            "rate": rate, "seconds": seconds, "warmup": warmup, "executors": executors, "capacity": capacity,
            "jobs": "\(rate) × every 1s, overlap allow, anchors spread evenly", "resolution": "1 ms",
        ]
        var figures: [String: Any] = [
            "ticketsExpected": expected, "ticketsMeasured": times.count,
            "ticketsUnfinished": times.filter { $0.finishedAt == nil }.count, "settled": settled,
            "duplicates": census.duplicateSlots + census.ticketsRunMoreThanOnce,
            "maxRssMB": BenchReport.megabytes(rss.values.max() ?? 0), "rssMB": rss.mapValues(BenchReport.megabytes),
            "writtenAheadP50Ms": writtenAhead.value(0.5), "writtenAheadMinMs": writtenAhead.sorted.first ?? 0,
        ]
        figures.merge(claimed.figures("dueToClaimed")) { _, new in new }
        figures.merge(finished.figures("dueToFinished")) { _, new in new }
        try BenchReport.emit(
            benchmark: "latency", options: options, settings: settings, figures: figures,
            summary: [
                "latency: \(times.count) tickets due in the window (expected \(expected))",
                "  due → claimed:  \(claimed.line)   (target p50 ≤ 2, p99 ≤ 10, p99.9 ≤ 50)",
                "  due → finished: \(finished.line)",
                "  written ahead of due: p50 \(writtenAhead.value(0.5)) ms, min \(writtenAhead.sorted.first ?? 0) ms",
            ] + BenchReport.rssLines(rss))
    }
}
