import ArgumentParser
import BatonCore
import Foundation

extension DSTGapPolicy: ExpressibleByArgument {}
extension DSTFoldPolicy: ExpressibleByArgument {}

/// `baton cron EXPR`: validate an expression and list its next fire instants (CONTRACT §2).
struct CronCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cron",
        abstract: "Validate a cron expression and list its next fire instants.",
        discussion: """
            Fires are listed strictly after --from (default: now). An invalid expression exits with status 2 \
            and a message naming the field.
            """
    )

    @Argument(help: "Five fields (minute hour day-of-month month day-of-week), six with seconds first, or a macro such as @daily.")
    var expression: String

    @Option(name: .customLong("tz"), help: "IANA time zone the expression is read in.")
    var timeZone = "UTC"

    @Option(help: "List fires strictly after this RFC 3339 time (default: now).")
    var from: String?

    @Option(help: "How many fires to list.")
    var count = 10

    @Option(name: .customLong("dst-gap"), help: "Local times that do not exist on a spring-forward night: shift or skip.")
    var gap = DSTGapPolicy.shift

    @Option(name: .customLong("dst-fold"), help: "Local times that occur twice on a fall-back night: auto, first, last or both.")
    var fold = DSTFoldPolicy.auto

    @Flag(help: "Print {\"expression\", \"timezone\", \"fires\"} as JSON.")
    var json = false

    func run() throws {
        try reportingFailures(listFires)
    }

    private func listFires() throws {
        guard (1...10_000).contains(count) else {
            throw CLIFailure.usage("--count must be from 1 to 10000")
        }
        let start: Timestamp
        if let from {
            guard let parsed = Timestamp(rfc3339: from) else {
                throw CLIFailure.usage("--from: \"\(from)\" is not an RFC 3339 time such as 2026-03-07T12:00:00Z")
            }
            start = parsed
        } else {
            start = SystemWallClock().now()
        }
        let schedule: CronSchedule
        do {
            let parsed = try CronExpression(parsing: expression)
            schedule = try CronSchedule(expression: parsed, timeZone: timeZone, gap: gap, fold: fold)
        } catch {
            throw CLIFailure.usage(error.message)
        }
        var fires: [Timestamp] = []
        var cursor = start
        while fires.count < count, let next = schedule.nextFire(after: cursor) {
            fires.append(next)
            cursor = next
        }
        if json {
            print(CronCommand.json(expression: expression, timeZone: timeZone, fires: fires))
        } else {
            let local = LocalTimeFormatter(timeZone: timeZone)
            for fire in fires {
                print("\(fire.rfc3339)  \(local.format(fire))")
            }
        }
    }

    /// Keys in the contract's order: expression, timezone, fires.
    static func json(expression: String, timeZone: String, fires: [Timestamp]) -> String {
        func quoted(_ text: String) -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .withoutEscapingSlashes
            let data = (try? encoder.encode(text)) ?? Data("\"\"".utf8)
            return String(decoding: data, as: UTF8.self)
        }
        let list = fires.map { quoted($0.rfc3339) }.joined(separator: ",")
        return "{\"expression\":\(quoted(expression)),\"timezone\":\(quoted(timeZone)),\"fires\":[\(list)]}"
    }
}

/// Formats an instant as local wall-clock time with its zone abbreviation, for people.
struct LocalTimeFormatter {
    private let formatter: DateFormatter

    init(timeZone: String) {
        formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss zzz"
    }

    func format(_ instant: Timestamp) -> String {
        formatter.string(from: Date(timeIntervalSince1970: Double(instant.milliseconds) / 1000))
    }
}
