import ArgumentParser
import BatonCore
import BatonSQLite
import BatonStore
import Foundation

/// `baton bench failover`: two schedulers and executors under load; SIGKILL the leader → the new leader's
/// first ticket, and duplicates (none expected).
struct FailoverBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover",
        abstract: "SIGKILL the leader under load: new leader's first ticket ≤ TTL + 2 s, 0 duplicates.",
        discussion: """
            Creates --jobs noop jobs `every: 1s` (overlap allow, anchors spread over the second), starts two \
            schedulers and the executors (each connected to both), runs --warmup seconds, SIGKILLs the process \
            holding the leader lease and measures the time to the first ticket written under a higher epoch \
            (its created_at). After --after more seconds everything stops and the database is checked: tickets \
            per (job, slot) and attempts (runs) per ticket.
            """)

    @OptionGroup var options: BenchOptions

    @Option(help: "Jobs `every: 1s` (the load, in tickets per second).")
    var jobs = 200

    @Option(name: .customLong("lease-ttl"), help: "Leader lease TTL (BATON_LEASE_TTL), at least 3s.")
    var leaseTTL = "3s"

    @Option(help: "Seconds under load before the kill.")
    var warmup = 5

    @Option(help: "Seconds under load after the new leader's first ticket.")
    var after = 5

    @Option(help: "Executors.")
    var executors = 2

    func run() async throws {
        try await BenchCluster.measuring(options, measure)
    }

    func measure(_ cluster: BenchCluster) async throws {
        let ttl: TimeSpan
        do {
            ttl = try TimeSpan(parsing: leaseTTL)
        } catch {
            throw ValidationError("--lease-ttl: \(error)")
        }
        let database = try await cluster.openDatabase()
        let bench = database.bench
        let leases = database.stores.leases
        let now = cluster.clock.now()
        let base = now.milliseconds - now.milliseconds % 1000
        let specs = try (0..<jobs).map { index -> JobSpec in
            let anchor = Timestamp(milliseconds: base + Int64(index) * 1000 / Int64(max(1, jobs)))
            return try BenchJobs.spec(name: "failover-\(index)", schedule: #"{"every": "1s", "anchor": "\#(anchor.rfc3339Milliseconds)"}"#)
        }
        _ = try await bench.createJobs(specs, now: now)

        let ports = [try BenchCluster.freePort(), try BenchCluster.freePort()]
        try cluster.startScheduler(name: "scheduler-1", port: ports[0], leaseTTL: leaseTTL)
        try await Task.sleep(for: .milliseconds(300))
        try cluster.startScheduler(name: "scheduler-2", port: ports[1], leaseTTL: leaseTTL)
        for index in 1...executors {
            try cluster.startExecutor(name: "executor-\(index)", ports: ports, capacity: 64)
        }
        try await cluster.waitReady(database: database, leader: "scheduler-1", executors: executors)
        if !options.json { print("failover: \(jobs) tickets/s, lease TTL \(leaseTTL); killing the leader in \(warmup) s…") }
        try await Task.sleep(for: .seconds(warmup))
        try cluster.checkAlive()

        guard let lease = try await leases.current(), let leader = cluster.child(named: lease.holder) else {
            throw BenchFailure("no leader lease held by a scheduler this benchmark started")
        }
        guard Int(leader.pid) == lease.pid else {
            throw BenchFailure("the lease names pid \(lease.pid), but \(leader.name) is pid \(leader.pid)")
        }
        let killedAt = cluster.clock.now()
        cluster.kill(leader)
        var firstTicket: Timestamp?
        let takeover = BenchDeadline(.seconds(Int64(ttl.milliseconds / 1000) + 30), interval: .milliseconds(10))
        repeat {
            try cluster.checkAlive(except: [leader.name])
            firstTicket = try await bench.firstTicket(afterEpoch: lease.epoch)
            if firstTicket != nil { break }
        } while try await takeover.pause()
        guard let firstTicket else { throw BenchFailure("no scheduler took over within TTL + 30 s") }
        let newLease = try await leases.current()
        let failover = Double((firstTicket - killedAt).milliseconds) / 1000
        try await Task.sleep(for: .seconds(after))
        try cluster.checkAlive(except: [leader.name])
        // Let what was written finish (bounded), then stop everything before counting.
        let drain = BenchDeadline(.seconds(10), interval: .milliseconds(100))
        while try await bench.unfinishedCount() > jobs * 2, try await drain.pause() {}
        let rss = cluster.peakRSS()
        await cluster.stopAll()
        let census = try await bench.census()
        let duplicates = census.duplicateSlots + census.ticketsRunMoreThanOnce
        let target = Double(ttl.milliseconds) / 1000 + 2

        let settings: [String: Any] = [
            "jobs": jobs, "leaseTTL": leaseTTL, "warmup": warmup, "after": after, "executors": executors, "schedulers": 2,
        ]
        let figures: [String: Any] = [
            "failoverSeconds": (failover * 1000).rounded() / 1000, "targetSeconds": target,
            "duplicates": duplicates, "duplicateSlots": census.duplicateSlots,
            "ticketsRunMoreThanOnce": census.ticketsRunMoreThanOnce,
            "ticketsSucceededMoreThanOnce": census.ticketsSucceededMoreThanOnce,
            "oldEpoch": lease.epoch, "newEpoch": newLease?.epoch ?? NSNull(), "tickets": census.total,
            "ticketsByState": census.byState, "maxRssMB": BenchReport.megabytes(rss.values.max() ?? 0),
        ]
        try BenchReport.emit(
            benchmark: "failover", options: options, settings: settings, figures: figures,
            summary: [
                "failover: SIGKILLed \(leader.name) (pid \(leader.pid), epoch \(lease.epoch)) under \(jobs) tickets/s",
                "  new leader \(newLease?.holder ?? "?") (epoch \(newLease?.epoch ?? 0)) wrote its first ticket "
                    + "\(String(format: "%.3f", failover)) s after the kill (target ≤ \(target) s = TTL + 2 s)",
                "  duplicates: \(duplicates) (slots with two tickets: \(census.duplicateSlots); tickets run more than once: "
                    + "\(census.ticketsRunMoreThanOnce)); tickets: \(census.byState.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))",
            ])
    }
}
