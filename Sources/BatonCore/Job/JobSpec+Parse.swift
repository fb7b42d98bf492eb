import Foundation

extension JobSpec {
    /// Fields the server adds to a job; a client may send them back (GET → edit → PUT) and they are ignored.
    public static let serverFields: Set<String> = [
        "id", "revision", "state", "createdAt", "updatedAt", "nextFireAt", "lastTicket", "lastSuccessAt", "lastFailureAt",
        "parkedReason",
    ]

    /// How strictly a spec is read.
    public enum Reading: Sendable {
        /// A spec from a client (API body, `baton jobs apply`): every unknown field is an error (a typo must not
        /// pass silently), and the schedule must be one this host can evaluate.
        case input
        /// A spec from the database, which a gateway validated when it was written. During a rolling upgrade that
        /// gateway may be newer than this process: unknown fields are skipped (they belong to a feature this build
        /// does not have), and whether this host can evaluate the schedule (its tzdata, its cron dialect) is left to
        /// the scheduler, which parks the one job it cannot plan instead of failing every job's tick.
        case stored
    }

    /// Decodes and validates a job spec, reporting every invalid field with its path.
    public static func parse(_ json: JSONValue, reading: Reading = .input) throws(SpecValidationError) -> JobSpec {
        var reader = SpecReader(reading: reading)
        let spec = reader.jobSpec(json)
        guard reader.issues.isEmpty, let spec else {
            throw SpecValidationError(issues: reader.issues)
        }
        return spec
    }

    /// Decodes a spec the store holds (``Reading/stored``): unknown fields skipped and no duration bounds (`TimeBounds`
    /// apply to what clients send; a spec an older build stored before they existed is read as it is, because every
    /// computation on its values is total, and refusing it would stop a job that ran fine before the upgrade).
    public static func parseStored(json data: Data) throws(SpecValidationError) -> JobSpec {
        try parse(json: data, reading: .stored)
    }

    /// Decodes a job spec from JSON text (`baton jobs apply -f`, the gateway's request bodies).
    public static func parse(json data: Data, reading: Reading = .input) throws(SpecValidationError) -> JobSpec {
        let tree: JSONValue
        do {
            tree = try JSONValue(parsing: data)
        } catch {
            throw SpecValidationError(issues: [FieldIssue(field: "$", message: "is not valid JSON (byte \(error.offset): \(error.reason))")])
        }
        return try parse(tree, reading: reading)
    }

    /// `[a-z0-9][a-z0-9._-]{0,62}`: safe in URLs, file names and metric labels.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        func allowed(_ b: UInt8, first: Bool) -> Bool {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
            case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): return !first
            default: return false
            }
        }
        return bytes.enumerated().allSatisfy { allowed($0.element, first: $0.offset == 0) }
    }
}

extension SpecReader {
    mutating func jobSpec(_ json: JSONValue) -> JobSpec? {
        let keys = Set(JobSpec.CodingKeys.allCases.map(\.rawValue))
        guard let members = object(json, at: "", allowed: keys, ignored: JobSpec.serverFields) else { return nil }

        let name = string(members["name"], at: "name")
        if members["name"] == nil {
            fail("name", "is required")
        } else if let name, !JobSpec.isValidName(name) {
            fail("name", "must match [a-z0-9][a-z0-9._-]{0,62}")
        }
        if members["schedule"] == nil { fail("schedule", "is required") }
        if members["action"] == nil { fail("action", "is required") }
        let schedule = self.scheduleSpec(members["schedule"])
        let action = self.action(members["action"])
        var policy: JobPolicy? = JobPolicy()
        if let json = members["policy"], json != .null { policy = self.policy(json) }
        let paused = bool(members["paused"], at: "paused") ?? false
        let labels = stringMap(members["labels"], at: "labels") ?? [:]
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            if !JobSpec.isValidName(key) { fail("labels.\(key)", "label names must match [a-z0-9][a-z0-9._-]{0,62}") }
            if value.utf8.count > 256 { fail("labels.\(key)", "must be at most 256 bytes") }
            // Labels are matched by filters and become metric label values: no control characters (a NUL would
            // compare equal to its prefix in SQLite, and PostgreSQL's jsonb refuses it).
            if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                fail("labels.\(key)", "must not contain control characters")
            }
        }
        let queue = string(members["queue"], at: "queue") ?? "default"
        if !JobSpec.isValidName(queue) { fail("queue", "must match [a-z0-9][a-z0-9._-]{0,62}") }

        if let schedule, let policy { checkJitter(policy, against: schedule) }
        guard let name, let schedule, let action, let policy else { return nil }
        return JobSpec(
            name: name, schedule: schedule, action: action, policy: policy, paused: paused, labels: labels, queue: queue)
    }

    mutating func scheduleSpec(_ json: JSONValue?) -> ScheduleSpec? {
        let keys = Set(ScheduleSpec.CodingKeys.allCases.map(\.rawValue))
        guard let members = object(json, at: "schedule", allowed: keys) else { return nil }
        let present = ["cron", "every", "at"].filter { members[$0] != nil && members[$0] != .null }
        guard present.count == 1, let which = present.first else {
            fail("schedule", present.isEmpty ? "needs one of cron, every or at" : "has more than one of cron, every and at (\(present.joined(separator: ", ")))")
            return nil
        }
        var spec = ScheduleSpec(.every(.seconds(1)))
        var valid = true
        switch which {
        case "cron":
            if members["anchor"] != nil { fail("schedule.anchor", "applies only to every schedules") }
            guard let text = string(members["cron"], at: "schedule.cron") else { return nil }
            spec.kind = .cron(text)
            spec.timezone = string(members["timezone"], at: "schedule.timezone") ?? "UTC"
            if let dst = object(members["dst"], at: "schedule.dst", allowed: ["gap", "fold"]) {
                if let gap = enumeration(dst["gap"], at: "schedule.dst.gap", as: DSTGapPolicy.self) { spec.gap = gap }
                if let fold = enumeration(dst["fold"], at: "schedule.dst.fold", as: DSTFoldPolicy.self) { spec.fold = fold }
            }
            // A stored spec was checked on the way in; whether this host can evaluate it is the planner's question.
            if reading == .stored { break }
            do {
                let expression = try CronExpression(parsing: text)
                do {
                    _ = try CronSchedule(expression: expression, timeZone: spec.timezone, gap: spec.gap, fold: spec.fold)
                } catch {
                    fail("schedule.timezone", error.message)
                    valid = false
                }
            } catch {
                fail("schedule.cron", error.message)
                valid = false
            }
        case "every":
            for key in ["timezone", "dst"] where members[key] != nil { fail("schedule.\(key)", "applies only to cron schedules") }
            guard let interval = timeSpan(members["every"], at: "schedule.every", in: TimeBounds.every) else { return nil }
            spec.kind = .every(interval)
            spec.anchor = timestamp(members["anchor"], at: "schedule.anchor")
        default:
            for key in ["timezone", "dst", "anchor"] where members[key] != nil {
                fail("schedule.\(key)", key == "anchor" ? "applies only to every schedules" : "applies only to cron schedules")
            }
            guard let instant = timestamp(members["at"], at: "schedule.at") else { return nil }
            spec.kind = .at(instant)
        }
        spec.startAt = timestamp(members["startAt"], at: "schedule.startAt")
        spec.endAt = timestamp(members["endAt"], at: "schedule.endAt")
        if let start = spec.startAt, let end = spec.endAt, end <= start {
            fail("schedule.endAt", "must be after startAt")
            valid = false
        }
        return valid ? spec : nil
    }

    mutating func action(_ json: JSONValue?) -> Action? {
        let keys = Set(Action.CodingKeys.allCases.map(\.rawValue))
        guard let members = object(json, at: "action", allowed: keys) else { return nil }
        let present = keys.sorted().filter { members[$0] != nil }
        guard present.count == 1, let which = present.first else {
            fail("action", present.isEmpty ? "needs one of http, command or noop" : "has more than one of http, command and noop")
            return nil
        }
        switch which {
        case "http": return httpAction(members["http"]).map(Action.http)
        case "command": return commandAction(members["command"]).map(Action.command)
        default:
            _ = object(members["noop"], at: "action.noop", allowed: [])
            return .noop
        }
    }

    static let httpMethods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

    mutating func httpAction(_ json: JSONValue?) -> HTTPAction? {
        let keys = Set(HTTPAction.CodingKeys.allCases.map(\.rawValue))
        guard let members = object(json, at: "action.http", allowed: keys) else { return nil }
        let before = issues.count
        let method = string(members["method"], at: "action.http.method")?.uppercased() ?? "GET"
        if !SpecReader.httpMethods.contains(method) {
            fail("action.http.method", "must be one of \(SpecReader.httpMethods.sorted().joined(separator: ", "))")
        }
        let url = string(members["url"], at: "action.http.url")
        if members["url"] == nil { fail("action.http.url", "is required") }
        if let url {
            if let parsed = URLComponents(string: url), let scheme = parsed.scheme?.lowercased(),
                scheme == "http" || scheme == "https", let host = parsed.host, !host.isEmpty
            {
                // valid
            } else {
                fail("action.http.url", "must be an absolute http or https URL with a host")
            }
        }
        let headers = stringMap(members["headers"], at: "action.http.headers") ?? [:]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            if name.isEmpty || !name.utf8.allSatisfy(SpecReader.isHeaderTokenByte) {
                fail("action.http.headers.\(name)", "is not a valid header name")
            }
            if value.utf8.contains(where: { $0 == 10 || $0 == 13 || $0 == 0 }) {
                fail("action.http.headers.\(name)", "must not contain line breaks")
            }
        }
        let body = string(members["body"], at: "action.http.body")
        let timeout = timeSpan(members["timeout"], at: "action.http.timeout", in: TimeBounds.timeout)
        guard issues.count == before, let url else { return nil }
        return HTTPAction(method: method, url: url, headers: headers, body: body, timeout: timeout)
    }

    mutating func commandAction(_ json: JSONValue?) -> CommandAction? {
        let keys = Set(CommandAction.CodingKeys.allCases.map(\.rawValue))
        guard let members = object(json, at: "action.command", allowed: keys) else { return nil }
        let before = issues.count
        let argv = stringArray(members["argv"], at: "action.command.argv")
        if argv?.first?.isEmpty ?? true {
            fail("action.command.argv", "needs the program and its arguments, e.g. [\"/usr/bin/env\", \"true\"]")
        }
        let env = stringMap(members["env"], at: "action.command.env") ?? [:]
        for name in env.keys.sorted() where name.isEmpty || name.contains("=") || name.utf8.contains(0) {
            fail("action.command.env.\(name)", "is not a valid environment variable name")
        }
        let cwd = string(members["cwd"], at: "action.command.cwd")
        if let cwd, !cwd.hasPrefix("/") { fail("action.command.cwd", "must be an absolute path") }
        let timeout = timeSpan(members["timeout"], at: "action.command.timeout", in: TimeBounds.timeout)
        guard issues.count == before, let argv else { return nil }
        return CommandAction(argv: argv, env: env, cwd: cwd, timeout: timeout)
    }

    mutating func policy(_ json: JSONValue) -> JobPolicy? {
        let keys = Set(JobPolicy.CodingKeys.allCases.map(\.rawValue))
        guard let members = object(json, at: "policy", allowed: keys) else { return nil }
        let before = issues.count
        var policy = JobPolicy()
        if let v = enumeration(members["overlap"], at: "policy.overlap", as: OverlapPolicy.self) { policy.overlap = v }
        if let v = enumeration(members["catchup"], at: "policy.catchup", as: CatchupPolicy.self) { policy.catchup = v }
        if let v = timeSpan(members["misfireGrace"], at: "policy.misfireGrace", in: TimeBounds.misfireGrace) {
            policy.misfireGrace = v
        }
        if let v = timeSpan(members["timeout"], at: "policy.timeout", in: TimeBounds.timeout) { policy.timeout = v }
        if let v = timeSpan(members["jitter"], at: "policy.jitter", in: TimeBounds.jitter) { policy.jitter = v }
        if let retry = object(members["retry"], at: "policy.retry", allowed: ["maxAttempts", "initialDelay", "maxDelay", "multiplier"]) {
            if let v = integer(retry["maxAttempts"], at: "policy.retry.maxAttempts", in: TimeBounds.maxAttempts) {
                policy.retry.maxAttempts = v
            }
            if let v = timeSpan(retry["initialDelay"], at: "policy.retry.initialDelay", in: TimeBounds.retryDelay) {
                policy.retry.initialDelay = v
            }
            if let v = timeSpan(retry["maxDelay"], at: "policy.retry.maxDelay", in: TimeBounds.retryDelay) {
                policy.retry.maxDelay = v
            }
            if let v = number(retry["multiplier"], at: "policy.retry.multiplier") {
                if !TimeBounds.multiplier.contains(v) {
                    fail(
                        "policy.retry.multiplier",
                        "must be from \(Int(TimeBounds.multiplier.lowerBound)) to \(Int(TimeBounds.multiplier.upperBound))")
                }
                policy.retry.multiplier = v
            }
            if policy.retry.maxDelay < policy.retry.initialDelay {
                fail("policy.retry.maxDelay", "must be at least initialDelay (\(policy.retry.initialDelay))")
            }
        }
        return issues.count == before ? policy : nil
    }

    /// Jitter must stay below the grace (or every jittered ticket would misfire) and below the slot
    /// spacing (or jittered slots would reorder) — CONTRACT §9a.
    mutating func checkJitter(_ policy: JobPolicy, against schedule: ScheduleSpec) {
        guard policy.jitter > .zero else { return }
        if policy.jitter >= policy.misfireGrace {
            fail("policy.jitter", "must be less than misfireGrace (\(policy.misfireGrace))")
        }
        if let spacing = schedule.minimumSpacing, policy.jitter >= spacing {
            fail("policy.jitter", "must be less than the time between slots (\(spacing))")
        }
    }

    static func isHeaderTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }
}
