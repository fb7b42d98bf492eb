import BatonCore
import Testing

/// Local-time searches (no zone) for every grammar form. Expected dates come from a
/// calendar: 2026-01-01 is a Thursday; February 2026 starts on a Sunday.
@Suite("Cron grammar")
struct CronGrammarTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var expression: String
        var after: String
        var expected: [String]
        var testDescription: String { "\(expression) after \(after)" }

        init(_ expression: String, after: String = "2026-01-01T00:00:00", _ expected: [String]) {
            self.expression = expression
            self.after = after
            self.expected = expected
        }
    }

    static let forms: [Case] = [
        Case("* * * * *", ["2026-01-01T00:01:00", "2026-01-01T00:02:00", "2026-01-01T00:03:00"]),
        Case("*/15 * * * *", ["2026-01-01T00:15:00", "2026-01-01T00:30:00", "2026-01-01T00:45:00", "2026-01-01T01:00:00"]),
        Case(
            "5,10-12,50/5 * * * *",
            ["2026-01-01T00:05:00", "2026-01-01T00:10:00", "2026-01-01T00:11:00", "2026-01-01T00:12:00",
             "2026-01-01T00:50:00", "2026-01-01T00:55:00", "2026-01-01T01:05:00"]),
        Case("10-30/10 * * * *", ["2026-01-01T00:10:00", "2026-01-01T00:20:00", "2026-01-01T00:30:00", "2026-01-01T01:10:00"]),
        Case("0 */6 * * *", ["2026-01-01T06:00:00", "2026-01-01T12:00:00", "2026-01-01T18:00:00", "2026-01-02T00:00:00"]),
        // n/s runs from n to the field's maximum.
        Case("0 22/1 * * *", ["2026-01-01T22:00:00", "2026-01-01T23:00:00", "2026-01-02T22:00:00"]),
        Case("0 0 25/3 * *", ["2026-01-25T00:00:00", "2026-01-28T00:00:00", "2026-01-31T00:00:00", "2026-02-25T00:00:00"]),
        // Month names in any case, in lists and ranges.
        Case("0 0 1 jan,Mar-APR *", ["2026-03-01T00:00:00", "2026-04-01T00:00:00", "2027-01-01T00:00:00"]),
        Case("0 0 1 1-3/2 *", ["2026-03-01T00:00:00", "2027-01-01T00:00:00"]),
        // Day names in any case; Thursday the 1st, Friday the 2nd, Monday the 5th.
        Case("0 9 * * mon-Fri", ["2026-01-01T09:00:00", "2026-01-02T09:00:00", "2026-01-05T09:00:00"]),
        // 0, 7 and SUN are all Sunday (January 4 and 11).
        Case("0 0 * * 0", ["2026-01-04T00:00:00", "2026-01-11T00:00:00"]),
        Case("0 0 * * 7", ["2026-01-04T00:00:00", "2026-01-11T00:00:00"]),
        Case("0 0 * * sun", ["2026-01-04T00:00:00", "2026-01-11T00:00:00"]),
        Case("0 0 * * 5-7", ["2026-01-02T00:00:00", "2026-01-03T00:00:00", "2026-01-04T00:00:00", "2026-01-09T00:00:00"]),
        // Day-of-week steps stop at Saturday, so 1/2 is Monday, Wednesday, Friday only.
        Case("0 0 * * 1/2", ["2026-01-02T00:00:00", "2026-01-05T00:00:00", "2026-01-07T00:00:00", "2026-01-09T00:00:00"]),
        // Six fields: seconds first.
        Case("*/20 * * * * *", ["2026-01-01T00:00:20", "2026-01-01T00:00:40", "2026-01-01T00:01:00"]),
        Case("30 0 12 * * *", ["2026-01-01T12:00:30", "2026-01-02T12:00:30"]),
        // Strictly after, with a start that is not on a whole minute.
        Case("*/15 * * * *", after: "2026-01-01T00:15:00", ["2026-01-01T00:30:00"]),
        Case("*/15 * * * *", after: "2026-01-01T00:14:59", ["2026-01-01T00:15:00"]),
        // Macros, any case.
        Case("@yearly", ["2027-01-01T00:00:00"]),
        Case("@annually", ["2027-01-01T00:00:00"]),
        Case("@monthly", ["2026-02-01T00:00:00", "2026-03-01T00:00:00"]),
        Case("@weekly", ["2026-01-04T00:00:00", "2026-01-11T00:00:00"]),
        Case("@daily", ["2026-01-02T00:00:00", "2026-01-03T00:00:00"]),
        Case("@MIDNIGHT", ["2026-01-02T00:00:00"]),
        Case("@hourly", ["2026-01-01T01:00:00", "2026-01-01T02:00:00"]),
        // Extra whitespace between fields is fine.
        Case("  0\t12  * * *  ", ["2026-01-01T12:00:00"]),
    ]

    static let days: [Case] = [
        // Vixie rule, both restricted: the 13th OR any Friday.
        Case("0 0 13 * 5", ["2026-01-02T00:00:00", "2026-01-09T00:00:00", "2026-01-13T00:00:00", "2026-01-16T00:00:00"]),
        // Day-of-week starts with `*`: both must match, so the 13th only on Sun/Tue/Thu/Sat (Jan 13 Tue, Jun 13 Sat).
        Case("0 0 13 * */2", ["2026-01-13T00:00:00", "2026-06-13T00:00:00"]),
        // Day-of-month starts with `*`: days 1, 14, 27 that are Fridays (Feb 27, Mar 27, May 1).
        Case("0 0 */13 * 5", ["2026-02-27T00:00:00", "2026-03-27T00:00:00", "2026-05-01T00:00:00"]),
        // Plain `*` day-of-month: Fridays only.
        Case("0 0 * * 5", ["2026-01-02T00:00:00", "2026-01-09T00:00:00"]),
        // Months without a 31st are skipped.
        Case("0 0 31 * *", ["2026-01-31T00:00:00", "2026-03-31T00:00:00", "2026-05-31T00:00:00", "2026-07-31T00:00:00"]),
        // February 29 only in leap years.
        Case("0 0 29 2 *", ["2028-02-29T00:00:00", "2032-02-29T00:00:00"]),
        Case("0 0 29 2 *", after: "2096-03-01T00:00:00", ["2104-02-29T00:00:00"]),
        // L: last day of each month; in February 28 or 29.
        Case("0 0 L * *", ["2026-01-31T00:00:00", "2026-02-28T00:00:00", "2026-03-31T00:00:00", "2026-04-30T00:00:00"]),
        Case("0 0 L 2 *", ["2026-02-28T00:00:00", "2027-02-28T00:00:00", "2028-02-29T00:00:00", "2029-02-28T00:00:00"]),
        Case("0 0 1,L * *", after: "2026-01-30T00:00:00", ["2026-01-31T00:00:00", "2026-02-01T00:00:00", "2026-02-28T00:00:00"]),
        // nL: last Friday of the month.
        Case("0 0 * * 5L", ["2026-01-30T00:00:00", "2026-02-27T00:00:00", "2026-03-27T00:00:00", "2026-04-24T00:00:00"]),
        Case("0 0 * * friL", after: "2026-07-01T00:00:00", ["2026-07-31T00:00:00"]),
        // Last Sunday written 7L and 0L (March 29 and October 25, 2026: the European DST Sundays).
        Case("0 0 * 3,10 7L", ["2026-03-29T00:00:00", "2026-10-25T00:00:00"]),
        Case("0 0 * 3,10 0L", ["2026-03-29T00:00:00", "2026-10-25T00:00:00"]),
        // n#k: first Monday (Jan 5, Feb 2, Mar 2).
        Case("0 0 * * 1#1", ["2026-01-05T00:00:00", "2026-02-02T00:00:00", "2026-03-02T00:00:00"]),
        Case("0 0 * * MON#1,mon#3", ["2026-01-05T00:00:00", "2026-01-19T00:00:00", "2026-02-02T00:00:00"]),
        // A fifth Friday exists only in some months.
        Case("0 0 * * 5#5", ["2026-01-30T00:00:00", "2026-05-29T00:00:00", "2026-07-31T00:00:00", "2026-10-30T00:00:00"]),
        // A fifth Monday in February needs a leap year whose February 1 is a Monday.
        Case("0 0 * 2 1#5", ["2044-02-29T00:00:00", "2072-02-29T00:00:00"]),
        // Both restricted: last day OR first Monday.
        Case("0 0 L * 1#1", ["2026-01-05T00:00:00", "2026-01-31T00:00:00", "2026-02-02T00:00:00", "2026-02-28T00:00:00"]),
    ]

    @Test("grammar forms", arguments: forms)
    func grammar(_ example: Case) throws {
        try expectLocalMatches(example)
    }

    @Test("day fields, L, nL and n#k", arguments: days)
    func dayFields(_ example: Case) throws {
        try expectLocalMatches(example)
    }

    private func expectLocalMatches(_ example: Case) throws {
        let expression = try CronExpression(parsing: example.expression)
        var cursor = try cronLocal(example.after)
        var found: [String] = []
        for _ in example.expected {
            guard let next = expression.nextLocalMatch(after: cursor) else { break }
            #expect(expression.matches(next))
            found.append(next.description)
            cursor = next
        }
        #expect(found == example.expected)
    }

    @Test("keeps the source text and knows whether the hour field starts with a star")
    func sourceAndHourStar() throws {
        let expression = try CronExpression(parsing: "0 9 * * MON-FRI")
        #expect(expression.source == "0 9 * * MON-FRI")
        #expect(expression.description == "0 9 * * MON-FRI")
        #expect(!expression.hourFieldStartsWithStar)
        #expect(try CronExpression(parsing: "0 */2 * * *").hourFieldStartsWithStar)
        #expect(try CronExpression(parsing: "@hourly").hourFieldStartsWithStar)
        #expect(try !CronExpression(parsing: "@daily").hourFieldStartsWithStar)
    }

    @Test("matches checks every field, seconds included")
    func matching() throws {
        let expression = try CronExpression(parsing: "30 0 12 * * MON")
        #expect(expression.matches(try cronLocal("2026-01-05T12:00:30")))
        #expect(!expression.matches(try cronLocal("2026-01-05T12:00:31")))
        #expect(!expression.matches(try cronLocal("2026-01-06T12:00:30")))
        #expect(!expression.matches(CivilDateTime(year: 2026, month: 2, day: 30)))
    }

    @Test("equal text, equal expression")
    func hashable() throws {
        let a = try CronExpression(parsing: "*/5 * * * *")
        let b = try CronExpression(parsing: "*/5 * * * *")
        #expect(a == b)
        #expect(Set([a, b]).count == 1)
        #expect(try a != CronExpression(parsing: "*/10 * * * *"))
    }
}
