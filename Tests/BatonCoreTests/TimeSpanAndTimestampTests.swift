import BatonCore
import Testing

// Parsing and formatting tables live in TimeTests.swift; these cover the calendar arithmetic underneath.
@Suite("Calendar arithmetic")
struct CalendarArithmeticTests {
    @Test func formatsInstantsBeforeTheEpoch() {
        #expect(Timestamp(milliseconds: -1).rfc3339Milliseconds == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(rfc3339: "1969-12-31T23:59:59Z")?.milliseconds == -1000)
    }

    @Test func civilConversionRoundTripsAcrossCenturies() {
        for days in stride(from: Int64(-800_000), through: 800_000, by: 997) {
            let (y, m, d) = CivilDateTime.civil(fromDays: days)
            #expect(CivilDateTime.days(fromCivil: y, m, d) == days)
        }
        #expect(CivilDateTime(year: 2026, month: 3, day: 8).weekday == 0)  // a Sunday
        #expect(CivilDateTime(year: 2000, month: 2, day: 29).weekday == 2)  // a Tuesday, in a 400-year leap year
    }
}
