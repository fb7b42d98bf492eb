import BatonCore
import Foundation

/// A schedule as a sentence, for people reading a list of jobs: "every day at 02:30", "every 15 minutes".
///
/// Only the shapes people write most are put into words; anything else answers nil and is shown as written.
/// A wrong sentence is worse than none, so every shape recognised here is matched field by field.
enum ScheduleWords {
    static func describe(_ schedule: ScheduleSpec) -> String? {
        switch schedule.kind {
        case .every(let interval): "every \(interval)"
        case .at(let instant): "once, at \(instant.rfc3339)"
        case .cron(let expression): cron(expression)
        }
    }

    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

    static func cron(_ expression: String) -> String? {
        let trimmed = expression.trimmingCharacters(in: .whitespaces).lowercased()
        var fields = (macros[trimmed] ?? trimmed).split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if fields.count == 6 {
            // Seconds first: only whole minutes are put into words.
            guard fields[0] == "0" else { return nil }
            fields.removeFirst()
        }
        guard fields.count == 5 else { return nil }
        let (minute, hour, day, month, weekday) = (fields[0], fields[1], fields[2], fields[3], fields[4])
        guard month == "*" else { return nil }
        if hour == "*", day == "*", weekday == "*" {
            if minute == "*" { return "every minute" }
            if let step = step(minute, limit: 59) { return step == 1 ? "every minute" : "every \(step) minutes" }
            if let value = number(minute, in: 0...59) { return value == 0 ? "every hour, on the hour" : "every hour at minute \(value)" }
            return nil
        }
        guard let m = number(minute, in: 0...59) else { return nil }
        if let step = step(hour, limit: 23), day == "*", weekday == "*" {
            return "every \(step) hours at minute \(m)"
        }
        guard let h = number(hour, in: 0...23) else { return nil }
        let time = "\(pad(h)):\(pad(m))"
        switch (day, weekday) {
        case ("*", "*"):
            return "every day at \(time)"
        case ("*", _):
            guard let days = days(weekday) else { return nil }
            return "at \(time) on \(days)"
        case (_, "*"):
            guard let d = number(day, in: 1...31) else { return nil }
            return "at \(time) on day \(d) of every month"
        default:
            return nil
        }
    }

    /// `1-5` → "Monday to Friday", `1,3` → "Monday and Wednesday", `0` → "Sunday".
    static func days(_ field: String) -> String? {
        let range = field.split(separator: "-", omittingEmptySubsequences: false)
        if range.count == 2, let from = number(String(range[0]), in: 0...7), let to = number(String(range[1]), in: 0...7), from < to {
            return "\(weekdays[from]) to \(weekdays[to])"
        }
        var names: [String] = []
        for part in field.split(separator: ",", omittingEmptySubsequences: false) {
            guard let value = number(String(part), in: 0...7) else { return nil }
            names.append(weekdays[value])
        }
        guard let last = names.popLast() else { return nil }
        return names.isEmpty ? last : names.joined(separator: ", ") + " and " + last
    }

    static func number(_ text: String, in range: ClosedRange<Int>) -> Int? {
        guard !text.isEmpty, text.count <= 2, text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text), range.contains(value) else { return nil }
        return value
    }

    /// `*/15` → 15.
    static func step(_ text: String, limit: Int) -> Int? {
        guard text.hasPrefix("*/") else { return nil }
        return number(String(text.dropFirst(2)), in: 1...limit)
    }

    static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
