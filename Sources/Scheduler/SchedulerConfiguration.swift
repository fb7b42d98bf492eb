import BatonCore
import Foundation
import ZeroMQ

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
    /// The scheduler's CURVE key pair (`BATON_DISPATCH_SECRET_KEY[_FILE]`); nil: the dispatch link is plaintext.
    /// Every scheduler of a cluster shares it, so executors and gateways need one server key.
    public var dispatchKeys: CurveKeyPair?
    /// Client public keys the dispatch port accepts (`BATON_DISPATCH_CLIENT_KEYS[_FILE]`), required with keys.
    public var dispatchClientKeys: [CurvePublicKey] = []
    /// Lets a scheduler without keys bind a non-loopback address (`BATON_DISPATCH_INSECURE`).
    public var dispatchInsecure = false
    /// Executors known at once (`BATON_DISPATCH_MAX_PEERS`); further HELLOs are ignored until one leaves.
    public var maximumPeers = 1024

    // MARK: Leader loop (`LeaderLoop`); not operator settings, but kept here so each constant has one home and a reason.

    /// Pause after a leader pass whose database call failed: long enough not to spin on a database that refuses
    /// every call, short enough (well under the 250 ms poll) that one transient error costs no visible latency.
    public var leaderFailureRetry: TimeSpan = .milliseconds(100)
    /// Most due rows read at once. A read is sized to the credit there is (plus the slack below), so this only
    /// bounds the leader's memory and the read transaction when thousands of executor slots are free at once.
    public var dueReadCap = 2000
    /// Rows read beyond the credit: tickets for a queue no executor with credit serves are skipped, and a read of
    /// exactly the credit would then leave credit unused until the next pass.
    public var dueReadSlack = 32
    /// How often the leader asks for requested cancellations (CONTRACT §8): a cancel is a human action, and a second
    /// is well below how fast one notices it took; more often is a read per pass for nothing.
    public var cancellationCheckInterval: TimeSpan = .seconds(1)
    /// Executors silent this long are forgotten with their credit: five of their one-second heartbeats, so a few
    /// late heartbeats (a busy host) do not drop a live executor, while a dead one stops getting offers within seconds.
    public var peerSilenceTimeout: TimeSpan = .seconds(5)
    /// What the leader sent is remembered for this many `redeliverAfter`s: long enough to tell a redelivery (and
    /// strike the peer that did not claim) for a ticket sent around again several times, bounded so the map does not
    /// grow with every ticket ever sent.
    public var sentMemoryFactor: Int64 = 30
    /// How soon the leader reads the due queue from its head while a peer on probation holds an offer: a real
    /// executor claims within a few milliseconds, and it gets no second ticket until that claim is seen.
    public var probationRescan: TimeSpan = .milliseconds(10)
    /// At most this much extra lookahead for a burst of due jobs. 100,000 `* * * * *` jobs take the leader several
    /// seconds to tick (`baton bench scale`), well inside this; the bound only stops a mismeasured tick rate from
    /// planning minutes ahead (no measurement chose 20 s itself).
    public var maximumWriteAhead: TimeSpan = .seconds(20)
    /// Less extra lookahead than this is not worth a change in plan: a handful of due jobs adds nothing.
    public var minimumWriteAhead: TimeSpan = .milliseconds(100)
    /// The write-ahead is the expected time to tick the burst times this margin, because the tick rate is a moving
    /// average and executors' claims slow the tick down while they share the write lock.
    public var writeAheadMargin = 1.5
    /// Jobs counted at most when sizing the write-ahead: at the 5,000 jobs/s tick rate guess, 2,000,000 jobs is
    /// already the 20 s maximum several times over, so counting further changes nothing.
    public var dueJobCountCap = 2_000_000
    /// Jobs ticked per second assumed until a tick is measured.
    public var initialTickRate = 5_000.0
    /// The measured tick rate never falls below this, so one slow tick (a checkpoint, a cold cache) cannot size a
    /// write-ahead of minutes.
    public var minimumTickRate = 500.0
    /// Only ticks of at least this many jobs update the tick rate: smaller ones are dominated by the transaction's
    /// fixed cost and would understate it.
    public var tickRateSampleJobs = 100

    /// Every default, in one place: the initialiser's parameters below are the only place a default is written;
    /// `baton scheduler`'s help text and its env fallbacks read them from here, and a test holds Docs/Configuration.md
    /// to them.
    public static let defaults = SchedulerConfiguration(id: "defaults")

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
        if !(1...65536).contains(maximumPeers) { problems.append("BATON_DISPATCH_MAX_PEERS must be from 1 to 65536") }
        if dispatchKeys != nil && dispatchClientKeys.isEmpty {
            problems.append(
                "BATON_DISPATCH_CLIENT_KEYS (or BATON_DISPATCH_CLIENT_KEYS_FILE) must list the executors' and gateways' public keys when BATON_DISPATCH_SECRET_KEY is set")
        }
        if dispatchKeys == nil && !dispatchClientKeys.isEmpty {
            problems.append("BATON_DISPATCH_CLIENT_KEYS needs the scheduler's own BATON_DISPATCH_SECRET_KEY (or BATON_DISPATCH_SECRET_KEY_FILE)")
        }
        if dispatchKeys != nil && !ZMQCapability.curve {
            problems.append("BATON_DISPATCH_SECRET_KEY: this libzmq was built without CURVE support (zmq_has(\"curve\") is false)")
        }
        if dispatchKeys == nil && !dispatchInsecure && !Self.isLocal(endpoint: dispatchBind) {
            problems.append(
                "refusing to bind BATON_DISPATCH_BIND=\(dispatchBind) without keys: any process that reaches it could take tickets. "
                    + "Set BATON_DISPATCH_SECRET_KEY and BATON_DISPATCH_CLIENT_KEYS (baton dispatch-keys makes them), "
                    + "bind a loopback address, or set BATON_DISPATCH_INSECURE=true on a network you trust")
        }
        return problems
    }

    /// Whether only this machine can reach `endpoint`: ipc and inproc, or tcp on an IP literal in 127.0.0.0/8 or
    /// ::1. Host names and interface names count as reachable from elsewhere (`tcp://*:7710`, `tcp://eth0:7710`).
    public static func isLocal(endpoint: String) -> Bool {
        if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
        guard endpoint.hasPrefix("tcp://") else { return false }
        let address = endpoint.dropFirst("tcp://".count)
        guard let colon = address.lastIndex(of: ":") else { return false }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            return bytes == [UInt8](repeating: 0, count: 15) + [1]
        }
        return false
    }
}
