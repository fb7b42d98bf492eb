import BatonCore
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import Testing

/// A small deterministic generator (SplitMix64), so a failing case can be replayed from its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random JSON shaped like job specs (right keys, wrong values), plus mangled text.
struct BodyFuzzer {
    var random: SeededGenerator

    static let keys = [
        "name", "schedule", "action", "policy", "paused", "labels", "queue", "cron", "every", "at", "timezone", "dst", "gap",
        "fold", "anchor", "startAt", "endAt", "http", "command", "noop", "method", "url", "headers", "body", "timeout",
        "argv", "env", "cwd", "overlap", "catchup", "misfireGrace", "retry", "maxAttempts", "initialDelay", "maxDelay",
        "multiplier", "jitter", "id", "revision", "",
    ]
    static let strings = [
        "", "x", "nightly", "* * * * *", "0 0 30 2 *", "61 * * * *", "@daily", "30s", "0s", "-5s", "1h30m", "9999999999999d",
        "Europe/Berlin", "Mars/Olympus", "http://a.test/", "ftp://x", "2026-03-08T07:30:00Z", "not a time", "shift", "both",
        "forbid", "all", "GET", "BREW", "\u{0}", "é", "💥", String(repeating: "a", count: 300),
    ]

    mutating func value(depth: Int) -> Any {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 8), using: &random) {
        case 0: return NSNull()
        case 1: return Bool.random(using: &random)
        case 2: return [0, -1, 1, 3, 100, 1e300, -0.5, Double(Int64.max)][Int.random(in: 0..<8, using: &random)]
        case 3, 4: return Self.strings[Int.random(in: 0..<Self.strings.count, using: &random)]
        case 5: return (0..<Int.random(in: 0...3, using: &random)).map { _ in value(depth: depth + 1) }
        default:
            var object: [String: Any] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &random) {
                object[Self.keys[Int.random(in: 0..<Self.keys.count, using: &random)]] = value(depth: depth + 1)
            }
            return object
        }
    }

    mutating func body() -> String {
        var object: [String: Any] = ["name": "fuzz", "schedule": value(depth: 1), "action": value(depth: 1)]
        if Bool.random(using: &random) { object["policy"] = value(depth: 1) }
        if Bool.random(using: &random) { object[Self.keys.randomElement(using: &random) ?? "x"] = value(depth: 1) }
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)
        var text = String(decoding: data, as: UTF8.self)
        switch Int.random(in: 0..<6, using: &random) {
        case 0:  // truncate
            text = String(text.prefix(Int.random(in: 0...max(0, text.count), using: &random)))
        case 1:  // flip one character
            if !text.isEmpty {
                var characters = Array(text)
                characters[Int.random(in: 0..<characters.count, using: &random)] = ["{", "}", "\"", ",", ":", "[", "\\"].randomElement(using: &random) ?? "x"
                text = String(characters)
            }
        case 2:  // a bare value instead of an object
            let bare = value(depth: 4)
            text = (try? JSONSerialization.data(withJSONObject: [bare])).map { String(decoding: $0.dropFirst().dropLast(), as: UTF8.self) } ?? "null"
        case 3:  // deep nesting
            let depth = Int.random(in: 1...2000, using: &random)
            text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        default:
            break
        }
        return text
    }
}

@Suite("Fuzzing")
struct FuzzTests {
    @Test("random and malformed JSON bodies never produce a 5xx", arguments: [UInt64(1), 2, 3])
    func noServerErrors(seed: UInt64) async throws {
        let fixture = try GatewayFixture(allowCommands: seed == 3)
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("target"))
            var fuzzer = BodyFuzzer(random: SeededGenerator(state: seed))
            var statuses: [Int: Int] = [:]
            for index in 0..<120 {
                let body = fuzzer.body()
                let (method, uri): (HTTPRequest.Method, String) =
                    switch index % 3 {
                    case 0: (.post, "/v1/jobs")
                    case 1: (.put, "/v1/jobs/fuzz")
                    default: (.patch, "/v1/jobs/target")
                    }
                let reply = try await client.send(method, uri, json: body)
                statuses[Int(reply.status.code), default: 0] += 1
                #expect(reply.status.code < 500, "seed \(seed) case \(index): \(method) \(uri) \(body.prefix(200)) → \(reply.status) \(reply.text.prefix(300))")
                if reply.status.code >= 400 {
                    #expect(reply.header("Content-Type") == "application/problem+json")
                }
                if reply.status == .created || reply.status == .ok, method != .patch {
                    _ = try await client.send(.delete, "/v1/jobs/fuzz")
                }
            }
            // The corpus must exercise both the validation and the malformed-JSON paths to be meaningful.
            #expect(statuses[422, default: 0] > 10)
            #expect(statuses[400, default: 0] > 10)
        }
    }
}

/// Boundary values rather than random ones (issue 12 item 2): for every duration field of a spec and every query
/// parameter that is a number or a time, 0, 1 ms, the bound, the bound + 1 ms and the Int64 edges. None may crash
/// the gateway or produce a 5xx, and no answer may carry a time outside years 0001–9999.
@Suite("Fuzzing at the boundaries")
struct BoundaryFuzzTests {
    /// Every duration field: a spec with the value in place, and the bound it must respect.
    static let durationFields: [(field: String, bounds: ClosedRange<TimeSpan>, spec: @Sendable (String) -> String)] = [
        ("schedule.every", TimeBounds.every, { v in BoundaryFuzzTests.spec(schedule: #"{"every": "\#(v)"}"#) }),
        ("policy.misfireGrace", TimeBounds.misfireGrace, { v in BoundaryFuzzTests.spec(policy: #"{"misfireGrace": "\#(v)"}"#) }),
        ("policy.jitter", TimeBounds.jitter, { v in BoundaryFuzzTests.spec(schedule: #"{"every": "366d"}"#, policy: #"{"misfireGrace": "366d", "jitter": "\#(v)"}"#) }),
        ("policy.timeout", TimeBounds.timeout, { v in BoundaryFuzzTests.spec(policy: #"{"timeout": "\#(v)"}"#) }),
        ("policy.retry.initialDelay", TimeBounds.retryDelay, { v in BoundaryFuzzTests.spec(policy: #"{"retry": {"initialDelay": "\#(v)", "maxDelay": "30d"}}"#) }),
        ("policy.retry.maxDelay", TimeBounds.retryDelay, { v in BoundaryFuzzTests.spec(policy: #"{"retry": {"initialDelay": "0s", "maxDelay": "\#(v)"}}"#) }),
        ("action.http.timeout", TimeBounds.timeout, { v in BoundaryFuzzTests.spec(action: #"{"http": {"url": "http://example.test/", "timeout": "\#(v)"}}"#) }),
        ("action.command.timeout", TimeBounds.timeout, { v in BoundaryFuzzTests.spec(action: #"{"command": {"argv": ["/bin/true"], "timeout": "\#(v)"}}"#) }),
    ]

    /// Every instant field of a spec.
    static let instantFields: [(field: String, spec: @Sendable (String) -> String)] = [
        ("schedule.at", { v in BoundaryFuzzTests.spec(schedule: #"{"at": "\#(v)"}"#) }),
        ("schedule.anchor", { v in BoundaryFuzzTests.spec(schedule: #"{"every": "1s", "anchor": "\#(v)"}"#) }),
        ("schedule.startAt", { v in BoundaryFuzzTests.spec(schedule: #"{"cron": "* * * * * *", "timezone": "Pacific/Kiritimati", "startAt": "\#(v)"}"#) }),
        ("schedule.endAt", { v in BoundaryFuzzTests.spec(schedule: #"{"every": "366d", "endAt": "\#(v)"}"#) }),
    ]

    static func spec(schedule: String = #"{"every": "60s"}"#, policy: String = "{}", action: String = #"{"noop": {}}"#) -> String {
        #"{"name": "edge", "schedule": \#(schedule), "policy": \#(policy), "action": \#(action)}"#
    }

    static func durations(_ bounds: ClosedRange<TimeSpan>) -> [String] {
        [
            "0s", "1ms", bounds.upperBound.description, (bounds.upperBound + .milliseconds(1)).description,
            "106751991167d", "9223372036854775807ms", "9223372036854775808ms", "10000000d",
        ]
    }

    /// The first and last instants, one step beyond each, and what Int64 milliseconds would reach.
    static let instants = [
        "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.001Z", "0000-12-31T23:59:59.999Z", "0001-01-01T00:00:00+00:01",
        "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.998Z", "9999-12-31T23:59:59.999-00:01", "10000-01-01T00:00:00Z",
        "+292278994-08-17T07:12:55.807Z", "-292275055-05-16T16:47:04.192Z", "1970-01-01T00:00:00Z",
    ]

    static let numbers = [
        "0", "1", "1000", "1001", "-1", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "-9223372036854775809",
    ]

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~:"))) ?? text
    }

    @Test("every duration and instant field at its boundaries: 201 inside, 422 naming the field outside, never 5xx")
    func specFieldBoundaries() async throws {
        let fixture = try GatewayFixture(allowCommands: true)
        try await fixture.test { client in
            // The field, the body, whether the value is inside the field's range, and the words stating the bound.
            var cases: [(field: String, body: String, inBounds: Bool, bound: String)] = []
            for (field, bounds, spec) in Self.durationFields {
                for value in Self.durations(bounds) {
                    let inBounds = (try? TimeSpan(parsing: value)).map(bounds.contains) ?? false
                    cases.append((field, spec(value), inBounds, bounds.boundDescription))
                }
            }
            for (field, spec) in Self.instantFields {
                for value in Self.instants {
                    cases.append((field, spec(value), Timestamp(rfc3339: value) != nil, "RFC 3339"))
                }
            }
            for (field, body, inBounds, bound) in cases {
                for (method, uri) in [(HTTPRequest.Method.post, "/v1/jobs"), (.put, "/v1/jobs/edge")] {
                    let reply = try await client.send(method, uri, json: body)
                    #expect(reply.status.code < 500, "\(method) \(body) → \(reply.status) \(reply.text.prefix(300))")
                    let named = (reply.json["errors"] as? [[String: String]] ?? []).contains {
                        $0["field"] == field && $0["message"]?.contains(bound) == true
                    }
                    #expect(named != inBounds, "\(method) \(body) → \(reply.status) \(reply.text.prefix(300))")
                    if !inBounds { #expect(reply.status == .unprocessableContent) }
                    guard reply.status.code < 300 else { continue }
                    TimeTexts.expectRFC3339(reply, body)
                    for uri in [
                        "/v1/jobs/edge", "/v1/jobs/edge/schedule?count=1000",
                        "/v1/jobs/edge/schedule?count=1000&from=9999-12-31T23:59:59.998Z",
                        "/v1/jobs/edge/schedule?count=1000&from=0001-01-01T00:00:00Z",
                        "/v1/jobs/edge/explain?at=9999-12-31T23:59:59.999Z", "/v1/jobs/edge/explain?at=0001-01-01T00:00:00Z",
                    ] {
                        let read = try await client.send(.get, uri)
                        #expect(read.status.code < 500, "\(body): GET \(uri) → \(read.status) \(read.text.prefix(300))")
                        TimeTexts.expectRFC3339(read, "\(body): GET \(uri)")
                    }
                    #expect(try await client.send(.delete, "/v1/jobs/edge").status == .noContent)
                }
            }
        }
    }

    @Test("every numeric and time query parameter at its boundaries: never 5xx, never a time outside 0001–9999")
    func queryParameterBoundaries() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let jobs = [
                Specs.every("every-second", "1s"),
                #"{"name": "yearly", "schedule": {"every": "366d", "anchor": "9999-01-01T00:00:00Z"}, "action": {"noop": {}}}"#,
                #"{"name": "kiritimati", "schedule": {"cron": "* * * * * *", "timezone": "Pacific/Kiritimati"}, "action": {"noop": {}}}"#,
            ]
            for job in jobs { #expect(try await client.send(.post, "/v1/jobs", json: job).status == .created) }
            _ = try await client.send(.post, "/v1/jobs/every-second/trigger")

            var uris: [String] = []
            for number in Self.numbers.map(Self.encoded) {
                uris += [
                    "/v1/jobs?limit=\(number)", "/v1/jobs?cursor=\(number)", "/v1/tickets?limit=\(number)",
                    "/v1/tickets?cursor=\(number)", "/v1/executors?limit=\(number)", "/v1/executors?cursor=\(number)",
                    "/v1/cron?expr=*%20*%20*%20*%20*&count=\(number)",
                ]
                for job in ["every-second", "yearly", "kiritimati"] { uris.append("/v1/jobs/\(job)/schedule?count=\(number)") }
            }
            for instant in Self.instants.map(Self.encoded) {
                uris += [
                    "/v1/tickets?since=\(instant)", "/v1/tickets?until=\(instant)", "/v1/tickets?job=every-second&since=\(instant)&until=\(instant)",
                    "/v1/cron?expr=*%20*%20*%20*%20*&count=1000&from=\(instant)",
                    "/v1/cron?expr=0%200%201%201%20*&tz=Pacific/Kiritimati&count=1000&from=\(instant)",
                ]
                for job in ["every-second", "yearly", "kiritimati"] {
                    uris += ["/v1/jobs/\(job)/schedule?count=1000&from=\(instant)", "/v1/jobs/\(job)/explain?at=\(instant)"]
                }
            }
            var statuses: [Int: Int] = [:]
            for uri in uris {
                let reply = try await client.send(.get, uri)
                statuses[Int(reply.status.code), default: 0] += 1
                #expect(reply.status.code < 500, "GET \(uri) → \(reply.status) \(reply.text.prefix(300))")
                TimeTexts.expectRFC3339(reply, "GET \(uri)")
            }
            // Both sides of every boundary must have been reached for the table to mean anything.
            #expect(statuses[200, default: 0] > 50)
            #expect(statuses[422, default: 0] > 50)
        }
    }
}
