import BatonCore
import BatonSQLite
import BatonStore
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import Testing

/// Issue 12 item 2 over HTTP: an over-bound duration is a 422 naming the field, and no answer carries a time
/// outside years 0001–9999.
@Suite("Duration bounds in the API")
struct DurationBoundsAPITests {
    /// One over-bound value per duration field: the body, the field the 422 must name, and the bound it must state.
    static let overBound: [(body: String, field: String, bound: String)] = [
        (DurationBoundsAPITests.spec(schedule: #"{"every": "106751991167d"}"#), "schedule.every", "from 1s to 366d"),
        (DurationBoundsAPITests.spec(schedule: #"{"every": "10000000d"}"#), "schedule.every", "from 1s to 366d"),
        (DurationBoundsAPITests.spec(schedule: #"{"every": "366d1ms"}"#), "schedule.every", "from 1s to 366d"),
        (DurationBoundsAPITests.spec(policy: #"{"misfireGrace": "366d1ms"}"#), "policy.misfireGrace", "from 0s to 366d"),
        (DurationBoundsAPITests.spec(policy: #"{"misfireGrace": "9223372036854775808ms"}"#), "policy.misfireGrace", "from 0s to 366d"),
        (DurationBoundsAPITests.spec(policy: #"{"jitter": "366d1ms"}"#), "policy.jitter", "from 0s to 366d"),
        (DurationBoundsAPITests.spec(policy: #"{"timeout": "7d1ms"}"#), "policy.timeout", "from 1ms to 7d"),
        (DurationBoundsAPITests.spec(policy: #"{"timeout": "0s"}"#), "policy.timeout", "from 1ms to 7d"),
        (DurationBoundsAPITests.spec(policy: #"{"retry": {"initialDelay": "106751991167d", "maxDelay": "106751991167d"}}"#), "policy.retry.initialDelay", "from 0s to 30d"),
        (DurationBoundsAPITests.spec(policy: #"{"retry": {"maxDelay": "30d1ms"}}"#), "policy.retry.maxDelay", "from 0s to 30d"),
        (DurationBoundsAPITests.spec(policy: #"{"retry": {"maxDelay": "9223372036854775807ms"}}"#), "policy.retry.maxDelay", "from 0s to 30d"),
        (DurationBoundsAPITests.spec(action: #"{"http": {"url": "http://example.test/", "timeout": "7d1ms"}}"#), "action.http.timeout", "from 1ms to 7d"),
        (DurationBoundsAPITests.spec(action: #"{"command": {"argv": ["/bin/true"], "timeout": "106751991167d"}}"#), "action.command.timeout", "from 1ms to 7d"),
    ]

    static func spec(schedule: String = #"{"every": "60s"}"#, policy: String = "{}", action: String = #"{"noop": {}}"#) -> String {
        #"{"name": "bounded", "schedule": \#(schedule), "policy": \#(policy), "action": \#(action)}"#
    }

    @Test("an over-bound duration is 422 naming the field and its bound")
    func overBoundDurationsAreRejected() async throws {
        let fixture = try GatewayFixture(allowCommands: true)
        try await fixture.test { client in
            for (body, field, bound) in Self.overBound {
                for (method, uri) in [(HTTPRequest.Method.post, "/v1/jobs"), (.put, "/v1/jobs/bounded")] {
                    let reply = try await client.send(method, uri, json: body)
                    #expect(reply.status == .unprocessableContent, "\(method) \(body) → \(reply.status) \(reply.text)")
                    let errors = reply.json["errors"] as? [[String: String]] ?? []
                    #expect(
                        errors.contains { $0["field"] == field && $0["message"]?.contains(bound) == true },
                        "\(body) → \(reply.text)")
                }
            }
            // Nothing was stored along the way.
            #expect(try await client.send(.get, "/v1/jobs/bounded").status == .notFound)
        }
    }

    @Test("a job at the end of year 9999 has no slot after it, and every answer is RFC 3339")
    func previewStopsAtYear9999() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let job = #"{"name": "last", "schedule": {"every": "366d", "anchor": "9999-01-01T00:00:00Z"}, "action": {"noop": {}}}"#
            #expect(try await client.send(.post, "/v1/jobs", json: job).status == .created)
            let preview = try await client.send(.get, "/v1/jobs/last/schedule?count=1000&from=9998-12-31T00:00:00Z")
            #expect(preview.status == .ok)
            let fires = preview["fires"] as? [[String: String]] ?? []
            #expect(fires.map { $0["utc"] } == ["9999-01-01T00:00:00Z"])
            TimeTexts.expectRFC3339(preview, "schedule preview")

            let explain = try await client.send(.get, "/v1/jobs/last/explain?at=9999-12-31T23:59:59.999Z")
            #expect(explain.status == .ok)
            #expect(explain.string("slot") == "9999-01-01T00:00:00Z")
            TimeTexts.expectRFC3339(explain, "explain")
        }
    }

    @Test("a local reading past year 9999 is answered in UTC")
    func cronPreviewAtTheEndOfTime() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            // New Year in Kiritimati (+14:00) of the year 10000 is 9999-12-31T10:00:00Z.
            let reply = try await client.send(
                .get, "/v1/cron?expr=0%200%201%201%20*&tz=Pacific/Kiritimati&count=1000&from=9990-01-01T00:00:00Z")
            #expect(reply.status == .ok)
            let fires = reply["fires"] as? [[String: String]] ?? []
            #expect(fires.count == 10)
            #expect(fires.last?["utc"] == "9999-12-31T10:00:00Z")
            #expect(fires.last?["local"] == "9999-12-31T10:00:00Z")
            #expect(fires.first?["local"] == "9991-01-01T00:00:00+14:00")
            TimeTexts.expectRFC3339(reply, "cron preview")
        }
    }
}

/// Checks that every time a response carries is RFC 3339 that Baton itself reads back (four-digit year).
enum TimeTexts {
    /// Looks like the start of a date: optional sign, four or more digits, `-MM-DDT`.
    static func looksLikeTime(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.first == "+" || rest.first == "-" { rest = rest.dropFirst() }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard digits.count >= 4 else { return false }
        let after = rest.dropFirst(digits.count)
        return after.count >= 7 && after.hasPrefix("-") && after.dropFirst(6).hasPrefix("T")
    }

    static func strings(in value: Any) -> [String] {
        switch value {
        case let text as String: [text]
        case let array as [Any]: array.flatMap(strings(in:))
        case let object as [String: Any]: object.values.flatMap(strings(in:))
        default: []
        }
    }

    static func expectRFC3339(_ reply: Reply, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let tree = try? JSONSerialization.jsonObject(with: Data(reply.text.utf8)) else { return }
        for text in strings(in: tree) where looksLikeTime(text) {
            #expect(Timestamp(rfc3339: text) != nil, "\(context): \"\(text)\" is not RFC 3339", sourceLocation: sourceLocation)
        }
    }
}

/// A spec stored by a build without bounds: read as it is (it ran before the upgrade), answered in RFC 3339,
/// and rejected only when a client sends the value again.
@Suite("Specs stored before the bounds")
struct StoredBeyondBoundsTests {
    @Test func aStoredOverBoundSpecStaysReadableAndIsRejectedOnTheNextWrite() async throws {
        let fixture = try GatewayFixture()
        let store = SQLiteJobStore(try fixture.database())
        let spec = JobSpec(
            name: "old", schedule: ScheduleSpec(.every(.days(10_000_000))), action: .noop,
            policy: JobPolicy(
                timeout: .days(3650),
                retry: RetryPolicy(maxAttempts: 3, initialDelay: .days(106_751_991_167), maxDelay: .days(106_751_991_167))))
        _ = try await store.create(spec, now: GatewayFixture.t0)
        try await fixture.test { client in
            let job = try await client.send(.get, "/v1/jobs/old")
            #expect(job.status == .ok)
            TimeTexts.expectRFC3339(job, "GET job")
            let preview = try await client.send(.get, "/v1/jobs/old/schedule?count=10")
            #expect(preview.status == .ok)
            TimeTexts.expectRFC3339(preview, "schedule preview")
            let explain = try await client.send(.get, "/v1/jobs/old/explain?at=9999-12-31T23:59:59.999Z")
            #expect(explain.status == .ok)
            TimeTexts.expectRFC3339(explain, "explain")

            let put = try await client.send(.put, "/v1/jobs/old", json: job.text)
            #expect(put.status == .unprocessableContent)
            #expect(Set(put.errorFields) == ["schedule.every", "policy.timeout", "policy.retry.initialDelay", "policy.retry.maxDelay"])
            #expect(try await client.send(.delete, "/v1/jobs/old").status == .noContent)
        }
    }
}
