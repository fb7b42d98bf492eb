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
