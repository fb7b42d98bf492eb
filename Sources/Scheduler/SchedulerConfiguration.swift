import BatonCore
import Foundation

/// Everything a scheduler process needs, built once from flags and environment and validated at start.
public struct SchedulerConfiguration: Sendable {
    /// Unique per process: `<host>-<pid>-<random>`, the lease holder id.
    public var id: String
    public var host: String
    public var pid: Int
    /// ROUTER endpoint bound at start (`BATON_DISPATCH_BIND`).
    public var dispatchBind: String
    /// Leader lease TTL (`BATON_LEASE_TTL`, ≥ 3 s).
    public var leaseTTL: TimeSpan
    /// Pending tickets not claimed within this are sent again (`BATON_REDELIVER_AFTER`).
    public var redeliverAfter: TimeSpan
    /// Tickets are written this far ahead of their slot, so due → claimed needs no scheduler write.
    public var lookahead: TimeSpan
    /// Safety-net poll for pending tickets and new jobs (CONTRACT §8: 250 ms).
    public var pollInterval: TimeSpan
    /// History retention (`BATON_RETENTION`, `BATON_HISTORY_PER_JOB`).
    public var retention: TimeSpan
    public var historyPerJob: Int
    /// Jobs planned per tick transaction; keeps each write lock short.
    public var tickBatch: Int
    /// How often expired claims and start deadlines are swept.
    public var sweepInterval: TimeSpan
    /// Pause between history retention passes (each pass runs in short steps).
    public var retentionInterval: TimeSpan = .minutes(1)
    /// Tickets written and skipped carry a `job` label (`BATON_METRICS_JOB_LABELS`; off: bounded cardinality).
    public var metricsJobLabels = false

    public init(
        id: String? = nil, dispatchBind: String = "tcp://127.0.0.1:7710", leaseTTL: TimeSpan = .seconds(10),
        redeliverAfter: TimeSpan = .seconds(2), lookahead: TimeSpan = .seconds(1), pollInterval: TimeSpan = .milliseconds(250),
        retention: TimeSpan = .days(30), historyPerJob: Int = 1000, tickBatch: Int = 500, sweepInterval: TimeSpan = .milliseconds(500)
    ) {
        let host = ProcessInfo.processInfo.hostName
        let pid = Int(ProcessInfo.processInfo.processIdentifier)
        self.host = host
        self.pid = pid
        self.id = id ?? "\(host)-\(pid)-\(String(UInt32.random(in: 0...0xFFFFFF), radix: 16))"
        self.dispatchBind = dispatchBind
        self.leaseTTL = leaseTTL
        self.redeliverAfter = redeliverAfter
        self.lookahead = lookahead
        self.pollInterval = pollInterval
        self.retention = retention
        self.historyPerJob = historyPerJob
        self.tickBatch = tickBatch
        self.sweepInterval = sweepInterval
    }

    /// Problems that would make the scheduler unsafe or useless, in words an operator can act on.
    public func validate() -> [String] {
        var problems: [String] = []
        for (setting, value, bounds) in [
            ("BATON_LEASE_TTL / --lease-ttl", leaseTTL, TimeBounds.leaseTTL),
            ("BATON_REDELIVER_AFTER / --redeliver-after", redeliverAfter, TimeBounds.redeliverAfter),
            ("BATON_RETENTION / --retention", retention, TimeBounds.retention),
        ] where !bounds.contains(value) {
            problems.append("\(setting) must be \(bounds.boundDescription) (got \(value))")
        }
        for (name, value) in [("lookahead", lookahead), ("poll interval", pollInterval), ("sweep interval", sweepInterval)]
        where !TimeBounds.internalInterval.contains(value) {
            problems.append("\(name) must be \(TimeBounds.internalInterval.boundDescription) (got \(value))")
        }
        if historyPerJob < 1 { problems.append("BATON_HISTORY_PER_JOB must be at least 1") }
        if !dispatchBind.hasPrefix("tcp://") && !dispatchBind.hasPrefix("ipc://") && !dispatchBind.hasPrefix("inproc://") {
            problems.append("BATON_DISPATCH_BIND must be a ZeroMQ endpoint such as tcp://127.0.0.1:7710")
        }
        return problems
    }
}
