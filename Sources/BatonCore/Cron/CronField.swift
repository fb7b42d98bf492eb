/// The six positions of a cron expression and what each one accepts.
enum CronField: Int, CaseIterable, Sendable {
    case second, minute, hour, dayOfMonth, month, dayOfWeek

    /// The name errors use, so a message can be traced back to the text the user wrote.
    var name: String {
        switch self {
        case .second: "second"
        case .minute: "minute"
        case .hour: "hour"
        case .dayOfMonth: "day-of-month"
        case .month: "month"
        case .dayOfWeek: "day-of-week"
        }
    }

    /// Values the user may write; day-of-week accepts 7 as a second spelling of Sunday.
    var bounds: ClosedRange<Int> {
        switch self {
        case .second, .minute: 0...59
        case .hour: 0...23
        case .dayOfMonth: 1...31
        case .month: 1...12
        case .dayOfWeek: 0...7
        }
    }

    /// Where `*` and `n/s` stop. Day-of-week stops at Saturday: 7 is only an alias,
    /// and counting it would make `1/2` (Mon, Wed, Fri) also fire on Sunday.
    var lastStepValue: Int { self == .dayOfWeek ? 6 : bounds.upperBound }

    /// Names in value order; the first name stands for `bounds.lowerBound`.
    var names: [String] {
        switch self {
        case .month: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        case .dayOfWeek: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
        default: []
        }
    }

    /// How the error for an unknown name should hint at the valid ones.
    var nameHint: String {
        switch self {
        case .month: " (expected JAN-DEC or 1-12)"
        case .dayOfWeek: " (expected SUN-SAT or 0-7)"
        default: " (this field takes numbers only)"
        }
    }
}

/// One field after parsing: the plain values as a bitset (bit n = value n), plus the
/// day forms that depend on the month and cannot be a fixed set of numbers.
struct CronFieldSet: Sendable, Hashable {
    var values: UInt64 = 0
    /// Day-of-month `L`.
    var lastDayOfMonth = false
    /// Day-of-week `nL`: bit n = the last weekday n of the month.
    var lastWeekdays: UInt8 = 0
    /// Day-of-week `n#k`: bit `(k - 1) * 8 + n`, so byte k - 1 holds the weekdays wanted as k-th of the month.
    var nthWeekdays: UInt64 = 0
    /// Vixie cron decides the day rule on the raw text, not on the resulting set: `*/2` counts as a star.
    var startsWithStar = false
}
