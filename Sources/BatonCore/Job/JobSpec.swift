/// What a user writes to define a job (CONTRACT §4), with every default applied.
///
/// Decoding goes through `JobSpec.parse(_:)`, which reports every invalid field
/// at once; encoding writes the canonical form (defaults spelled out), which
/// parses back to an equal value.
public struct JobSpec: Sendable, Equatable, Codable {
    public var name: String
    public var schedule: ScheduleSpec
    public var action: Action
    public var policy: JobPolicy
    public var paused: Bool
    public var labels: [String: String]
    public var queue: String

    public init(
        name: String, schedule: ScheduleSpec, action: Action, policy: JobPolicy = JobPolicy(), paused: Bool = false,
        labels: [String: String] = [:], queue: String = "default"
    ) {
        self.name = name
        self.schedule = schedule
        self.action = action
        self.policy = policy
        self.paused = paused
        self.labels = labels
        self.queue = queue
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, schedule, action, policy, paused, labels, queue
    }

    public init(from decoder: any Decoder) throws {
        let tree = try JSONValue(from: decoder)
        do {
            self = try JobSpec.parse(tree)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(schedule, forKey: .schedule)
        try container.encode(action, forKey: .action)
        try container.encode(policy, forKey: .policy)
        try container.encode(paused, forKey: .paused)
        try container.encode(labels, forKey: .labels)
        try container.encode(queue, forKey: .queue)
    }
}

/// When a job's slots are: exactly one of `cron`, `every` or `at`.
public struct ScheduleSpec: Sendable, Hashable, Encodable {
    public enum Kind: Sendable, Hashable {
        case cron(String)
        case every(TimeSpan)
        case at(Timestamp)
    }

    public var kind: Kind
    /// IANA zone the cron expression is read in.
    public var timezone: String
    public var gap: DSTGapPolicy
    public var fold: DSTFoldPolicy
    /// For `every`: slots are `anchor + k·every`; defaults to the job's creation time.
    public var anchor: Timestamp?
    public var startAt: Timestamp?
    public var endAt: Timestamp?

    public init(
        _ kind: Kind, timezone: String = "UTC", gap: DSTGapPolicy = .shift, fold: DSTFoldPolicy = .auto,
        anchor: Timestamp? = nil, startAt: Timestamp? = nil, endAt: Timestamp? = nil
    ) {
        self.kind = kind
        self.timezone = timezone
        self.gap = gap
        self.fold = fold
        self.anchor = anchor
        self.startAt = startAt
        self.endAt = endAt
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case cron, every, at, timezone, dst, anchor, startAt, endAt
    }

    struct DST: Codable, Equatable {
        var gap: DSTGapPolicy
        var fold: DSTFoldPolicy
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch kind {
        case .cron(let expression):
            try container.encode(expression, forKey: .cron)
            try container.encode(timezone, forKey: .timezone)
            try container.encode(DST(gap: gap, fold: fold), forKey: .dst)
        case .every(let interval):
            try container.encode(interval, forKey: .every)
            try container.encodeIfPresent(anchor, forKey: .anchor)
        case .at(let instant):
            try container.encode(instant, forKey: .at)
        }
        try container.encodeIfPresent(startAt, forKey: .startAt)
        try container.encodeIfPresent(endAt, forKey: .endAt)
    }
}

/// What running a ticket means.
public enum Action: Sendable, Equatable, Encodable {
    case http(HTTPAction)
    case command(CommandAction)
    case noop

    enum CodingKeys: String, CodingKey, CaseIterable {
        case http, command, noop
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .http(let action): try container.encode(action, forKey: .http)
        case .command(let action): try container.encode(action, forKey: .command)
        case .noop: try container.encode([String: String](), forKey: .noop)
        }
    }

    public var kindName: String {
        switch self {
        case .http: "http"
        case .command: "command"
        case .noop: "noop"
        }
    }
}

public struct HTTPAction: Sendable, Equatable, Encodable {
    public var method: String
    public var url: String
    public var headers: [String: String]
    public var body: String?
    /// Per-request timeout; the job's `policy.timeout` applies when absent.
    public var timeout: TimeSpan?

    public init(method: String = "GET", url: String, headers: [String: String] = [:], body: String? = nil, timeout: TimeSpan? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case method, url, headers, body, timeout
    }
}

public struct CommandAction: Sendable, Equatable, Encodable {
    public var argv: [String]
    public var env: [String: String]
    public var cwd: String?
    /// Run time limit; the job's `policy.timeout` applies when absent.
    public var timeout: TimeSpan?

    public init(argv: [String], env: [String: String] = [:], cwd: String? = nil, timeout: TimeSpan? = nil) {
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.timeout = timeout
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case argv, env, cwd, timeout
    }
}

public enum OverlapPolicy: String, Sendable, Codable, CaseIterable {
    /// Run every slot, even while an earlier ticket is unfinished.
    case allow
    /// Skip a slot (reason `overlap`) while an earlier ticket of the job is unfinished.
    case forbid
    /// Cancel the unfinished ticket, then run the new slot.
    case replace
}

public enum CatchupPolicy: String, Sendable, Codable, CaseIterable {
    /// Run every missed slot (the newest 100).
    case all
    /// Run only the newest missed slot, and none if a slot within grace is also due.
    case latest
    /// Run no missed slot.
    case none
}

public struct RetryPolicy: Sendable, Hashable, Codable {
    public var maxAttempts: Int
    public var initialDelay: TimeSpan
    public var maxDelay: TimeSpan
    public var multiplier: Double

    public init(maxAttempts: Int = 3, initialDelay: TimeSpan = .seconds(10), maxDelay: TimeSpan = .minutes(10), multiplier: Double = 2) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.multiplier = multiplier
    }

    /// The wait before attempt `next` (2, 3, …): `initialDelay · multiplier^(next−2)`, capped at `maxDelay`.
    ///
    /// Total for any input, including a policy stored by an older build without bounds: the growth is computed in
    /// Double but the result is `maxDelay` itself whenever the Double reaches it (or is not a number), so the one
    /// conversion back to Int64 is of a value strictly below an Int64 and cannot trap.
    public func delay(beforeAttempt next: Int) -> TimeSpan {
        guard next >= 2 else { return .zero }
        let cap = Swift.max(maxDelay, .zero)
        let start = Swift.max(initialDelay, .zero)
        guard start < cap else { return cap }
        let capValue = Double(cap.milliseconds)
        var delay = Double(start.milliseconds)
        // maxAttempts is at most 100, so no legitimate attempt number needs more steps; the bound keeps a stored
        // multiplier just above 1 with a huge attempt number from looping for long.
        let steps = Swift.min(next, TimeBounds.maxAttempts.upperBound + 1) - 2
        for _ in 0..<steps where delay < capValue {
            delay *= multiplier
        }
        guard delay < capValue else { return cap }  // also NaN
        return TimeSpan(milliseconds: Int64(Swift.max(delay, 0)))
    }
}

public struct JobPolicy: Sendable, Hashable, Codable {
    public var overlap: OverlapPolicy
    public var catchup: CatchupPolicy
    public var misfireGrace: TimeSpan
    public var timeout: TimeSpan
    public var retry: RetryPolicy
    public var jitter: TimeSpan

    public init(
        overlap: OverlapPolicy = .forbid, catchup: CatchupPolicy = .latest, misfireGrace: TimeSpan = .seconds(60),
        timeout: TimeSpan = .hours(1), retry: RetryPolicy = RetryPolicy(), jitter: TimeSpan = .zero
    ) {
        self.overlap = overlap
        self.catchup = catchup
        self.misfireGrace = misfireGrace
        self.timeout = timeout
        self.retry = retry
        self.jitter = jitter
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case overlap, catchup, misfireGrace, timeout, retry, jitter
    }
}
