import BatonCore
import Testing

@Suite("Cron errors")
struct CronErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var expression: String
        var code: CronError.Code
        var field: String?
        var testDescription: String { "\"\(expression)\" → \(code)" }

        init(_ expression: String, _ code: CronError.Code, _ field: String?) {
            self.expression = expression
            self.code = code
            self.field = field
        }
    }

    static let cases: [Case] = [
        Case("", .fieldCount, nil),
        Case("* * * *", .fieldCount, nil),
        Case("* * * * * * *", .fieldCount, nil),
        Case("@daily 5", .fieldCount, nil),
        Case("60 * * * * *", .outOfRange, "second"),
        Case("61 * * * *", .outOfRange, "minute"),
        Case("* 24 * * *", .outOfRange, "hour"),
        Case("* * 0 * *", .outOfRange, "day-of-month"),
        Case("* * 32 * *", .outOfRange, "day-of-month"),
        Case("* * * 13 *", .outOfRange, "month"),
        Case("* * * 0 *", .outOfRange, "month"),
        Case("* * * * 8", .outOfRange, "day-of-week"),
        Case("* * * * 5#6", .outOfRange, "day-of-week"),
        Case("* * * * 5#0", .outOfRange, "day-of-week"),
        Case("* * * * 8L", .outOfRange, "day-of-week"),
        Case("*/61 * * * *", .outOfRange, "minute"),
        Case("99999999999999999999 * * * *", .outOfRange, "minute"),
        Case("*/0 * * * *", .zeroStep, "minute"),
        Case("0 0 1-10/0 * *", .zeroStep, "day-of-month"),
        Case("30-10 * * * *", .reversedRange, "minute"),
        Case("* * * DEC-JAN *", .reversedRange, "month"),
        Case("* * * * FRI-MON", .reversedRange, "day-of-week"),
        Case("* * * FOO *", .unknownName, "month"),
        Case("* * * * MONDAY", .unknownName, "day-of-week"),
        Case("* * * * JAN", .unknownName, "day-of-week"),
        Case("* * * MON *", .unknownName, "month"),
        Case("L * * * *", .unknownName, "minute"),
        Case("@reboot", .unknownName, nil),
        Case("1,,2 * * * *", .syntax, "minute"),
        Case("*/x * * * *", .syntax, "minute"),
        Case("5- * * * *", .syntax, "minute"),
        Case("1-* * * * *", .syntax, "minute"),
        Case("-5 * * * *", .syntax, "minute"),
        Case("* * ? * *", .syntax, "day-of-month"),
        Case("* * L/2 * *", .syntax, "day-of-month"),
        Case("* * * * L", .syntax, "day-of-week"),
        Case("* * * * 5#", .syntax, "day-of-week"),
        Case("* * * * 1-5L", .syntax, "day-of-week"),
        Case("0 0 30 2 *", .neverFires, "day-of-month"),
        Case("0 0 31 4,6,9,11 *", .neverFires, "day-of-month"),
        Case("0 0 30-31 2 *", .neverFires, "day-of-month"),
        // Day-of-month starts with `*`, so both must match: days 1, 9, 17, 25 are never the fifth Monday.
        Case("0 0 */8 2 1#5", .neverFires, "day-of-week"),
    ]

    @Test("each error names its code and field", arguments: cases)
    func rejects(_ example: Case) {
        #expect {
            _ = try CronExpression(parsing: example.expression)
        } throws: { error in
            guard let error = error as? CronError else { return false }
            return error.code == example.code && error.field == example.field
        }
    }

    @Test("messages name the field and quote the bad text")
    func messages() throws {
        #expect(throws: CronError(code: .outOfRange, field: "minute", message: "minute: 61 is out of range 0-59")) {
            try CronExpression(parsing: "61 * * * *")
        }
        let cases: [(String, [String])] = [
            ("*/0 * * * *", ["minute", "*/0"]),
            ("* 20-5 * * *", ["hour", "20-5"]),
            ("* * * FOO *", ["month", "FOO"]),
            ("0 0 30 2 *", ["day-of-month", "never fires"]),
            ("* * *", ["5", "6", "got 3"]),
        ]
        for (text, fragments) in cases {
            do {
                _ = try CronExpression(parsing: text)
                Issue.record("\(text) should not parse")
            } catch {
                for fragment in fragments {
                    #expect(error.message.contains(fragment), "\(error.message)")
                }
                #expect(error.description == error.message)
            }
        }
    }

    @Test("rarely firing expressions are accepted", arguments: ["0 0 29 2 *", "0 0 L 2 *", "0 0 * * 5#5", "0 0 * 2 1#5", "0 0 31 1 *"])
    func accepts(_ text: String) throws {
        #expect(try CronExpression(parsing: text).source == text)
    }

    @Test("an unknown time zone is an error on the timezone field")
    func unknownTimeZone() throws {
        let expression = try CronExpression(parsing: "0 0 * * *")
        for zone in ["Mars/Olympus_Mons", "", "Europe/Berlinn"] {
            #expect {
                _ = try CronSchedule(expression: expression, timeZone: zone)
            } throws: { error in
                guard let error = error as? CronError else { return false }
                return error.code == .unknownTimeZone && error.field == "timezone" && error.message.contains("timezone")
            }
        }
    }
}
