import BatonCore
import Foundation
import Testing

@Suite("Timestamp and TimeSpan")
struct TimeTests {
    @Test(
        "RFC 3339 round trips in whole seconds",
        arguments: ["2026-03-08T07:30:00Z", "1970-01-01T00:00:00Z", "2028-02-29T23:59:59Z", "1969-12-31T23:59:59Z"])
    func roundTrip(_ text: String) throws {
        let parsed = try #require(Timestamp(rfc3339: text))
        #expect(parsed.rfc3339 == text)
        #expect(parsed.description == text)
    }

    @Test(
        "RFC 3339 parsing",
        arguments: [
            ("2026-03-08T07:30:00Z", Int64(1_772_955_000_000)),
            ("2026-03-08T02:30:00-05:00", 1_772_955_000_000),
            ("2026-03-08T09:00:00+01:30", 1_772_955_000_000),
            ("2026-03-08t07:30:00z", 1_772_955_000_000),
            ("2026-03-08 07:30:00Z", 1_772_955_000_000),
            ("2026-03-08T07:30:00.5Z", 1_772_955_000_500),
            ("2026-03-08T07:30:00.123456Z", 1_772_955_000_123),
            ("1970-01-01T00:00:00Z", 0),
            ("1969-12-31T23:59:59.999Z", -1),
        ])
    func parsing(_ text: String, _ milliseconds: Int64) {
        #expect(Timestamp(rfc3339: text)?.milliseconds == milliseconds)
    }

    @Test(
        "RFC 3339 rejects malformed text",
        arguments: [
            "", "garbage", "2026-03-08", "2026-03-08T07:30Z", "2026-02-30T00:00:00Z", "2026-03-08T24:00:00Z",
            "2026-03-08T07:60:00Z", "2026-13-01T00:00:00Z", "2026-03-08T07:30:00", "2026-03-08T07:30:00.Z",
            "2026-03-08T07:30:00+0500", "2027-02-29T00:00:00Z", "2026-03-08T07:30:00Zjunk",
        ])
    func rejects(_ text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test("milliseconds are kept in the three-digit form and in JSON")
    func milliseconds() throws {
        let time = Timestamp(milliseconds: 1_772_955_000_250)
        #expect(time.rfc3339 == "2026-03-08T07:30:00Z")
        #expect(time.rfc3339Milliseconds == "2026-03-08T07:30:00.250Z")
        #expect(time.description == "2026-03-08T07:30:00.250Z")
        let json = try JSONEncoder().encode([time])
        #expect(String(decoding: json, as: UTF8.self) == "[\"2026-03-08T07:30:00.250Z\"]")
        #expect(try JSONDecoder().decode([Timestamp].self, from: json) == [time])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([Timestamp].self, from: Data("[\"yesterday\"]".utf8))
        }
    }

    @Test(
        "durations",
        arguments: [
            ("500ms", Int64(500)), ("30s", 30_000), ("5m", 300_000), ("2h", 7_200_000), ("1d", 86_400_000),
            ("1h30m", 5_400_000), ("0s", 0), ("1d2h3m4s5ms", 93_784_005),
        ])
    func durations(_ text: String, _ milliseconds: Int64) throws {
        let span = try TimeSpan(parsing: text)
        #expect(span.milliseconds == milliseconds)
        #expect(try TimeSpan(parsing: span.description) == span)
    }

    @Test("durations print in their shortest form")
    func durationText() {
        #expect(TimeSpan.minutes(90).description == "1h30m")
        #expect(TimeSpan.milliseconds(1500).description == "1s500ms")
        #expect(TimeSpan.zero.description == "0s")
    }

    @Test("malformed durations", arguments: ["", "5x", "m5", "30s1h", "5", "1h1h", "-5s", "1.5h", "99999999999999999999d"])
    func badDurations(_ text: String) {
        #expect(throws: TimeSpanError.self) { try TimeSpan(parsing: text) }
    }

    @Test("durations round-trip through JSON as text")
    func durationJSON() throws {
        let json = try JSONEncoder().encode([TimeSpan.seconds(30)])
        #expect(String(decoding: json, as: UTF8.self) == "[\"30s\"]")
        #expect(try JSONDecoder().decode([TimeSpan].self, from: json) == [.seconds(30)])
    }
}
