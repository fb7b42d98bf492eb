import ArgumentParser
import BatonCore
import BatonSQLite
import BatonStore
import Foundation

/// `baton bench scale`: --jobs jobs each `* * * * *` → per minute, minute → last ticket written; scheduler CPU; RSS.
struct ScaleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Many `* * * * *` jobs: every slot ticketed within 1 s of its minute, RSS ≤ 200 MB per process.",
        discussion: """
            Creates --jobs noop jobs `* * * * *` (default policy: overlap forbid, catch-up latest), starts a scheduler \
            and the executors, and watches --minutes minute boundaries. Per minute it reports how many slots were \
            ticketed and when the last ticket was written relative to the minute (negative: written ahead by the \
            lookahead), the scheduler's CPU time over the minute, and at the end every process's peak RSS (VmHWM).
            """)

    @OptionGroup var options: BenchOptions

    @Option(help: "Jobs, each `* * * * *`.")
    var jobs = 100_000

    @Option(help: "Minute boundaries to measure.")
    var minutes = 2

    @Option(help: "Executors.")
    var executors = 2

    @Option(help: "Capacity of each executor (BATON_EXECUTOR_CAPACITY).")
    var capacity = 1024

    func run() async throws {
        guard jobs >= 1, minutes >= 1 else { throw ValidationError("--jobs and --minutes must be at least 1") }
        try await BenchCluster.measuring(options, measure)
    }

    func measure(_ cluster: BenchCluster) async throws {
        let database = try await cluster.openDatabase()
        let bench = database.bench
        let seedStart = ContinuousClock.now
        let spec = try BenchJobs.spec(name: "scale-0", schedule: #"{"cron": "* * * * *"}"#, overlap: "forbid")
        let specs = (0..<jobs).map { index -> JobSpec in
            var copy = spec
            copy.name = "scale-\(index)"
            return copy
        }
        _ = try await bench.createJobs(specs, now: cluster.clock.now())
        if !options.json { print("scale: created \(jobs) jobs in \(String(format: "%.1f", (ContinuousClock.now - seedStart).seconds)) s") }

        let port = try BenchCluster.freePort()
        let scheduler = try cluster.startScheduler(name: "scheduler-1", port: port, leaseTTL: "10s")
        for index in 1...executors {
            try cluster.startExecutor(name: "executor-\(index)", ports: [port], capacity: capacity)
        }
        try await cluster.waitReady(database: database, leader: "scheduler-1", executors: executors)

        // The first minute boundary at least 25 s away: a burst this size is written up to 20 s ahead (the leader's
        // write-ahead), and a boundary closer than that to the start measures the start, not a steady minute.
        let now = cluster.clock.now().milliseconds
        var firstMinute = (now / 60_000 + 1) * 60_000
        if firstMinute - now < 25_000 { firstMinute += 60_000 }
        let minuteStarts = (0..<minutes).map { firstMinute + Int64($0) * 60_000 }
        if !options.json {
            print("scale: measuring \(minutes) minute(s) from \(Timestamp(milliseconds: firstMinute).rfc3339)…")
        }

        // Sample the scheduler's CPU time every 250 ms; per minute we take [minute − 2 s, minute + 58 s).
        var cpuSamples: [(at: Int64, seconds: Double)] = []
        var rssSamples: [String: Double] = [:]
        let end = minuteStarts.last.map { $0 + 58_000 } ?? now
        while cluster.clock.now().milliseconds < end {
            try cluster.checkAlive()
            if let cpu = ProcStat.cpuSeconds(pid: scheduler.pid) { cpuSamples.append((cluster.clock.now().milliseconds, cpu)) }
            for (name, mb) in cluster.peakRSS() { rssSamples[name] = max(rssSamples[name] ?? 0, mb) }
            try await Task.sleep(for: .milliseconds(250))
        }
        let rss = cluster.peakRSS().merging(rssSamples) { max($0, $1) }

        let writes = try await bench.slotWrites(since: Timestamp(milliseconds: firstMinute))
        var perMinute: [[String: Any]] = []
        var summary: [String] = []
        var worstLag: Int64 = .min
        var slotsMissing = 0
        func cpu(at instant: Int64) -> Double? { cpuSamples.last { $0.at <= instant }?.seconds }
        for minute in minuteStarts {
            let row = writes.first { $0.slot == minute }
            let tickets = row?.tickets ?? 0
            let lag = row.map { $0.lastWrite - minute }
            let cpuUsed = (cpu(at: minute + 58_000) ?? 0) - (cpu(at: minute - 2_000) ?? 0)
            slotsMissing += jobs - tickets
            if let lag { worstLag = max(worstLag, lag) }
            perMinute.append([
                "minute": Timestamp(milliseconds: minute).rfc3339, "tickets": tickets,
                "lastWriteAfterMinuteMs": lag ?? NSNull(), "firstWriteAfterMinuteMs": row.map { $0.firstWrite - minute } ?? NSNull(),
                "schedulerCpuSeconds": (cpuUsed * 100).rounded() / 100,
            ])
            summary.append(
                "  \(Timestamp(milliseconds: minute).rfc3339): \(tickets) of \(jobs) slots ticketed; first write "
                    + "\(row.map { "\($0.firstWrite - minute)" } ?? "-") ms, last write \(lag.map { "\($0)" } ?? "-") ms "
                    + "after the minute; scheduler CPU \(String(format: "%.2f", cpuUsed)) s")
        }
        let census = try await bench.census()
        let settings: [String: Any] = [
            "jobs": jobs, "minutes": minutes, "executors": executors, "capacity": capacity,
            "schedule": "* * * * *", "overlap": "forbid", "lookahead": "1s",
        ]
        let figures: [String: Any] = [
            "lastTicketAfterMinuteMaxMs": worstLag == .min ? NSNull() : worstLag, "slotsMissing": slotsMissing,
            "minutes": perMinute, "maxRssMB": BenchReport.megabytes(rss.values.max() ?? 0),
            "rssMB": rss.mapValues(BenchReport.megabytes),
            "schedulerCpuSecondsPerMinute": perMinute.isEmpty ? 0
                : ((perMinute.compactMap { $0["schedulerCpuSeconds"] as? Double }.reduce(0, +) / Double(perMinute.count)) * 100).rounded() / 100,
            "duplicates": census.duplicateSlots + census.ticketsRunMoreThanOnce,
        ]
        try BenchReport.emit(
            benchmark: "scale", options: options, settings: settings, figures: figures,
            summary: ["scale: \(jobs) jobs `* * * * *` (target: last ticket ≤ 1000 ms after its minute, RSS ≤ 200 MB)"]
                + summary + BenchReport.rssLines(rss))
    }
}
