import BatonCore
import Foundation
import ZeroMQ

/// Everything an executor process needs, resolved once from flags and environment by `baton executor`
/// and validated before anything starts (CONTRACT §3).
public struct ExecutorConfiguration: Sendable {
    /// This executor's name on the wire (DEALER routing id) and in the database.
    public var executorID: String
    /// Scheduler ROUTER endpoints; one DEALER connects to each (`BATON_SCHEDULERS`).
    public var schedulers: [String]
    /// Concurrent tickets, 1...1024 (`BATON_EXECUTOR_CAPACITY`).
    public var capacity: Int
    /// Claim lease length; claims are renewed every third of it (`BATON_CLAIM_TTL`).
    public var claimTTL: TimeSpan
    /// Whether `command` actions may run here (`BATON_ALLOW_COMMANDS`).
    public var allowCommands: Bool
    /// Queues served, sent in `HELLO` (`BATON_QUEUES`).
    public var queues: [String]
    /// Addresses HTTP actions may not connect to (`BATON_HTTP_DENY`, adjusted by `BATON_HTTP_ALLOW_LINK_LOCAL`).
    public var httpDeny: HTTPDenyList
    /// How often HELLO, CREDIT and HEARTBEAT go to every scheduler.
    public var announceInterval: TimeSpan
    /// How often this executor refreshes its row in the executors table.
    public var registrationInterval: TimeSpan
    /// How long running actions may finish after a graceful shutdown starts before they are handed back.
    public var shutdownGrace: TimeSpan
    /// The wait between SIGTERM and SIGKILL for a command that timed out or was cancelled (CONTRACT §4: 10 s).
    public var killGrace: TimeSpan
    /// How long sockets stay open after `BYE`, so it leaves before they close (the socket loop closes with LINGER 0).
    public var byeLinger: TimeSpan
    /// Reported in `HELLO` and the executors table.
    public var version: String
    /// Attempt outcomes carry a `job` label (`BATON_METRICS_JOB_LABELS`; off: bounded cardinality, CONTRACT §9a).
    public var metricsJobLabels = false
    /// This executor's CURVE key pair (`BATON_DISPATCH_SECRET_KEY[_FILE]`), for schedulers with keys.
    public var dispatchKeys: CurveKeyPair?
    /// The schedulers' public key (`BATON_DISPATCH_SERVER_KEY[_FILE]`).
    public var dispatchServerKey: CurvePublicKey?

    /// Every default, in one place (the initialiser's parameters); `baton executor`'s help text and env fallbacks
    /// read them from here, and a test holds Docs/Configuration.md to them.
    public static let defaults = ExecutorConfiguration(executorID: "defaults")

    public init(
        executorID: String = ExecutorConfiguration.generatedExecutorID(),
        schedulers: [String] = ["tcp://127.0.0.1:7710"],
        capacity: Int = 16,
        claimTTL: TimeSpan = .seconds(30),
        allowCommands: Bool = false,
        queues: [String] = ["default"],
        httpDeny: HTTPDenyList = .standard,
        announceInterval: TimeSpan = .seconds(1),
        registrationInterval: TimeSpan = .seconds(5),
        shutdownGrace: TimeSpan = .seconds(10),
        killGrace: TimeSpan = .seconds(10),
        byeLinger: TimeSpan = .milliseconds(100),
        version: String = "0.1.0"
    ) {
        self.executorID = executorID
        self.schedulers = schedulers
        self.capacity = capacity
        self.claimTTL = claimTTL
        self.allowCommands = allowCommands
        self.queues = queues
        self.httpDeny = httpDeny
        self.announceInterval = announceInterval
        self.registrationInterval = registrationInterval
        self.shutdownGrace = shutdownGrace
        self.killGrace = killGrace
        self.byeLinger = byeLinger
        self.version = version
    }

    /// `<host>-<pid>-<6 random hex>`: unique per process, readable in logs and `GET /v1/executors`.
    public static func generatedExecutorID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        let suffix = String(UInt32.random(in: 0..<(1 << 24)), radix: 16)
        let padded = String(repeating: "0", count: 6 - suffix.count) + suffix
        return "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(padded)"
    }

    /// Every problem at once, each naming the setting, so an operator fixes them in one go.
    public func validate() throws(ExecutorConfigurationError) {
        var problems: [String] = []
        let idBytes = executorID.utf8.count
        if idBytes == 0 || idBytes > 255 {
            problems.append("BATON_EXECUTOR_ID must be 1 to 255 bytes")
        } else if executorID.utf8.first == 0 {
            problems.append("BATON_EXECUTOR_ID must not start with a NUL byte (ZeroMQ reserves it)")
        }
        if schedulers.isEmpty {
            problems.append("BATON_SCHEDULERS / --schedulers needs at least one endpoint such as tcp://127.0.0.1:7710")
        }
        for endpoint in schedulers where !ExecutorConfiguration.isEndpoint(endpoint) {
            problems.append(
                "BATON_SCHEDULERS / --schedulers: \"\(endpoint)\" is not an endpoint such as tcp://host:7710 or ipc:///path")
        }
        if !(1...1024).contains(capacity) {
            problems.append("BATON_EXECUTOR_CAPACITY / --executor-capacity must be from 1 to 1024, not \(capacity)")
        }
        if !TimeBounds.claimTTL.contains(claimTTL) {
            problems.append(
                "BATON_CLAIM_TTL / --claim-ttl must be \(TimeBounds.claimTTL.boundDescription) (claims renew every third of it), not \(claimTTL)")
        }
        if !TimeBounds.shutdownGrace.contains(shutdownGrace) {
            problems.append("BATON_SHUTDOWN_GRACE / --shutdown-grace must be \(TimeBounds.shutdownGrace.boundDescription), not \(shutdownGrace)")
        }
        if queues.isEmpty {
            problems.append("BATON_QUEUES / --queues needs at least one queue name")
        }
        if queues.count > WireMessage.Hello.maximumQueues {
            problems.append("BATON_QUEUES / --queues lists \(queues.count) queues; schedulers accept at most \(WireMessage.Hello.maximumQueues)")
        }
        for queue in queues where !JobSpec.isValidName(queue) {  // queue names follow job names
            problems.append("BATON_QUEUES / --queues: \"\(queue)\" is not a queue name ([a-z0-9][a-z0-9._-]{0,62})")
        }
        for (name, span) in [("announce interval", announceInterval), ("registration interval", registrationInterval)]
        where span <= .zero {
            problems.append("\(name) must be positive")
        }
        for (name, span) in [
            ("announce interval", announceInterval), ("registration interval", registrationInterval), ("kill grace", killGrace),
            ("BYE linger", byeLinger),
        ] where !TimeBounds.internalInterval.contains(span) {
            problems.append("\(name) must be \(TimeBounds.internalInterval.boundDescription), not \(span)")
        }
        if (dispatchKeys == nil) != (dispatchServerKey == nil) {
            problems.append(
                "BATON_DISPATCH_SECRET_KEY and BATON_DISPATCH_SERVER_KEY (or their _FILE forms) go together: CURVE needs this executor's key and the scheduler's")
        }
        if !problems.isEmpty {
            throw ExecutorConfigurationError(problems: problems)
        }
    }

    static func isEndpoint(_ text: String) -> Bool {
        for scheme in ["tcp://", "ipc://", "inproc://"] where text.hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            guard !rest.isEmpty else { return false }
            if scheme == "tcp://" {
                guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
                    (1...65535).contains(port), colon != rest.startIndex
                else { return false }
            }
            return true
        }
        return false
    }

}

/// An invalid executor setting; `description` lists every problem, one per line.
public struct ExecutorConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [String]

    public var description: String { problems.joined(separator: "\n") }
}
