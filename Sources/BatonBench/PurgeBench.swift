import ArgumentParser
import BatonCore
import BatonSQLite
import BatonStore
import Foundation

/// `baton bench purge`: history retention at the scale benchmark's size, measured as the longest write-lock hold.
struct PurgeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "History retention over --jobs jobs with history at its cap: the longest write-lock hold (target ≤ 10 ms).",
        discussion: """
            Creates --jobs noop jobs and gives each --history-per-job + 1 finished tickets (one over the cap), takes the \
            leader lease and runs one retention pass (BATON_HISTORY_PER_JOB = --history-per-job) step by step, timing \
            each write transaction; nothing else writes meanwhile, so a transaction's time is how long it held the \
            write lock. With --legacy it first times the single transaction the per-job cap used to run (grouping \
            every ticket by job), rolled back.
            """)

    @OptionGroup var options: BenchOptions

    @Option(help: "Jobs.")
    var jobs = 100_000

    @Option(help: "History kept per job (BATON_HISTORY_PER_JOB); each job gets one ticket more.")
    var historyPerJob = 20

    @Option(help: "Rows one retention write transaction may delete.")
    var batch = RetentionRules(retention: .days(30), perJob: 1).batch

    @Flag(help: "Also time the old single-transaction purge (rolled back).")
    var legacy = false

    func run() async throws {
        guard jobs >= 1, historyPerJob >= 1, batch >= 1 else {
            throw ValidationError("--jobs, --history-per-job and --batch must be at least 1")
        }
        try await BenchCluster.measuring(options, measure)
    }

    func measure(_ cluster: BenchCluster) async throws {
        guard let database = try await cluster.openDatabase().sqlite else {
            throw BenchFailure("purge measures SQLite's retention pass (its write lock); on PostgreSQL it is not run")
        }
        let bench = SQLiteBenchmarkStore(database)
        let now = cluster.clock.now()
        let seedStart = ContinuousClock.now
        let spec = try BenchJobs.spec(name: "purge-0", schedule: #"{"cron": "* * * * *"}"#, overlap: "forbid")
        let ids = try await bench.createJobs(
            (0..<jobs).map { index in
                var copy = spec
                copy.name = "purge-\(index)"
                return copy
            }, now: now)
        try await bench.fillHistory(ids, perJob: historyPerJob + 1, now: now)
        try await bench.checkpoint()
        let tickets = jobs * (historyPerJob + 1)
        if !options.json {
            print("purge: \(jobs) jobs, \(tickets) finished tickets written in \(String(format: "%.1f", (ContinuousClock.now - seedStart).seconds)) s")
        }

        var figures: [String: Any] = [:]
        var summary: [String] = []
        if legacy {
            let (took, deleted) = try await bench.legacyPerJobPurge(perJob: historyPerJob)
            try await bench.checkpoint()
            let ms = (took.seconds * 10_000).rounded() / 10
            figures["legacyWriteLockMs"] = ms
            summary.append("  before (one transaction, GROUP BY job_id): held the write lock \(ms) ms, deleting \(deleted)")
        }

        let me = SchedulerIdentity(id: "bench", host: "bench", pid: 1, endpoint: "inproc://bench")
        let lease = try await SQLiteLeaderLeaseStore(database).acquireOrRenew(me, epoch: nil, now: cluster.clock.now(), ttl: .hours(1))
        let fence = LeaderFence(holder: lease.holder, epoch: lease.epoch)
        let store = SQLiteRetentionStore(database)
        let rules = RetentionRules(retention: .days(30), perJob: historyPerJob, batch: batch)
        var holds: [Int64] = []
        var purged = 0
        var steps = 0
        var phase: RetentionPhase? = .start
        let passStart = ContinuousClock.now
        while let current = phase {
            let report = try await store.retentionStep(fence, phase: current, rules: rules, now: cluster.clock.now())
            steps += 1
            purged += report.purgedTickets
            if report.writeDuration > .zero { holds.append(Int64(report.writeDuration.seconds * 1_000_000)) }
            phase = report.next
        }
        let passSeconds = (ContinuousClock.now - passStart).seconds
        let micros = Percentiles(holds)
        figures["writeLockMaxMs"] = Double(micros.max) / 1000
        figures["writeLockP99Ms"] = Double(micros.value(0.99)) / 1000
        figures["writeLockP50Ms"] = Double(micros.value(0.5)) / 1000
        figures["writeTransactions"] = holds.count
        figures["steps"] = steps
        figures["ticketsPurged"] = purged
        figures["passSeconds"] = (passSeconds * 100).rounded() / 100
        summary.append(
            "  after (incremental, \(batch) rows per transaction): \(holds.count) write transactions in \(steps) steps, "
                + "longest \(Double(micros.max) / 1000) ms, p99 \(Double(micros.value(0.99)) / 1000) ms, "
                + "p50 \(Double(micros.value(0.5)) / 1000) ms; \(purged) tickets purged, pass \(String(format: "%.1f", passSeconds)) s")
        if purged != jobs { summary.append("  WARNING: expected \(jobs) tickets purged (one per job)") }
        let settings: [String: Any] = ["jobs": jobs, "historyPerJob": historyPerJob, "tickets": tickets, "batch": batch]
        try BenchReport.emit(
            benchmark: "purge", options: options, settings: settings, figures: figures,
            summary: ["purge: \(jobs) jobs with \(historyPerJob + 1) finished tickets each (target: longest write-lock hold ≤ 10 ms)"]
                + summary)
    }
}
