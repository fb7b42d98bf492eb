import BatonCore
import Testing

@Suite("Durations and instants")
struct TimeSpanAndTimestampTests {
    @Test(arguments: [
        ("500ms", 500), ("30s", 30_000), ("5m", 300_000), ("2h", 7_200_000), ("1d", 86_400_000),
        ("1h30m", 5_400_000), ("0s", 0), ("1d2h3m4s5ms", 93_784_005),
    ] as [(String, Int64)])
    func parsesDurations(text: String, milliseconds: Int64) throws {
        #expect(try TimeSpan(parsing: text).milliseconds == milliseconds)
    }

    @Test(arguments: ["", "5", "5x", "m5", "30s1h", "1h1h", "-5s", "1.5s", "99999999999999999999d"])
    func rejectsMalformedDurations(text: String) {
        #expect(throws: TimeSpanError.self) { try TimeSpan(parsing: text) }
    }

    @Test(arguments: [(5_400_000, "1h30m"), (500, "500ms"), (0, "0s"), (86_400_000, "1d"), (61_000, "1m1s")] as [(Int64, String)])
    func formatsCanonically(milliseconds: Int64, text: String) throws {
        let span = TimeSpan(milliseconds: milliseconds)
        #expect(span.description == text)
        #expect(try TimeSpan(parsing: text) == span)
    }

    @Test(arguments: [
        ("2026-03-08T07:30:00Z", 1_772_955_000_000),
        ("2026-03-08T02:30:00-05:00", 1_772_955_000_000),
        ("2026-03-08T07:30:00.250Z", 1_772_955_000_250),
        ("2026-03-08T07:30:00.2Z", 1_772_955_000_200),
        ("2026-03-08T07:30:00.123456Z", 1_772_955_000_123),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59Z", -1000),
        ("2024-02-29T12:00:00+05:30", 1_709_188_200_000),
    ] as [(String, Int64)])
    func parsesRFC3339(text: String, milliseconds: Int64) {
        #expect(Timestamp(rfc3339: text)?.milliseconds == milliseconds)
    }

    @Test(arguments: ["2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-03-08T24:00:00Z", "2026-03-08 07:30", "2026-03-08T07:30:00", "x"])
    func rejectsInvalidRFC3339(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func formatsWholeSecondsAndMilliseconds() {
        let t = Timestamp(milliseconds: 1_772_955_000_250)
        #expect(t.rfc3339 == "2026-03-08T07:30:00Z")
        #expect(t.rfc3339Milliseconds == "2026-03-08T07:30:00.250Z")
        #expect(Timestamp(milliseconds: -1).rfc3339Milliseconds == "1969-12-31T23:59:59.999Z")
    }

    @Test func civilConversionRoundTripsAcrossCenturies() {
        for days in stride(from: Int64(-800_000), through: 800_000, by: 997) {
            let (y, m, d) = CivilDateTime.civil(fromDays: days)
            #expect(CivilDateTime.days(fromCivil: y, m, d) == days)
        }
        #expect(CivilDateTime(year: 2026, month: 3, day: 8).weekday == 0)  // a Sunday
    }
}
