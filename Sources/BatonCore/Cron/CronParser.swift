/// Turns the text of one cron expression into field sets (CONTRACT §5 grammar).
///
/// Kept apart from `CronExpression` so the expression type stays about matching
/// and searching; every rejection happens here and names its field.
enum CronParser {
    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// The six fields, seconds first; a five-field expression fires at second 0.
    static func parseFields(_ text: String) throws(CronError) -> [CronFieldSet] {
        var words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).map(String.init)
        if let first = words.first, first.hasPrefix("@") {
            guard let expansion = macros[first.lowercased()] else {
                throw CronError(
                    code: .unknownName, field: nil,
                    message: "unknown macro \"\(first)\" (expected @yearly, @annually, @monthly, @weekly, @daily, "
                        + "@midnight or @hourly)")
            }
            guard words.count == 1 else {
                throw CronError(
                    code: .fieldCount, field: nil, message: "\(first) stands for a whole expression and takes no fields")
            }
            words = expansion.split(separator: " ").map(String.init)
        }
        switch words.count {
        case 5: words.insert("0", at: 0)
        case 6: break
        default:
            throw CronError(
                code: .fieldCount, field: nil,
                message: "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), "
                    + "got \(words.count)")
        }
        var sets: [CronFieldSet] = []
        for field in CronField.allCases {
            sets.append(try parse(words[field.rawValue], as: field))
        }
        return sets
    }

    static func parse(_ text: String, as field: CronField) throws(CronError) -> CronFieldSet {
        var set = CronFieldSet()
        set.startsWithStar = text.hasPrefix("*")
        for element in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !element.isEmpty else {
                throw error(.syntax, field, "empty list element in \"\(text)\"")
            }
            try add(String(element), to: &set, field: field)
        }
        return set
    }

    private static func add(_ element: String, to set: inout CronFieldSet, field: CronField) throws(CronError) {
        let upper = element.uppercased()
        if field == .dayOfMonth, upper == "L" {
            set.lastDayOfMonth = true
            return
        }
        if field == .dayOfWeek, let special = try weekdaySpecial(upper, original: element) {
            switch special {
            case .last(let weekday): set.lastWeekdays |= 1 << weekday
            case .nth(let weekday, let k): set.nthWeekdays |= 1 << UInt64((k - 1) * 8 + weekday)
            }
            return
        }

        let base: Substring
        var step = 1
        var hasStep = false
        if let slash = upper.firstIndex(of: "/") {
            base = upper[..<slash]
            let stepText = upper[upper.index(after: slash)...]
            guard !stepText.isEmpty, stepText.allSatisfy(\.isASCIIDigitCharacter) else {
                throw error(.syntax, field, "step in \"\(element)\" must be a whole number, e.g. */5")
            }
            let span = field.lastStepValue - field.bounds.lowerBound + 1
            guard stepText.count <= 4, let value = Int(stepText), value <= span else {
                throw error(.outOfRange, field, "step \(stepText) in \"\(element)\" is out of range 1-\(span)")
            }
            guard value > 0 else {
                throw error(.zeroStep, field, "step 0 in \"\(element)\" never advances")
            }
            step = value
            hasStep = true
        } else {
            base = upper[...]
        }

        if field == .dayOfMonth, base == "L" {
            throw error(.syntax, field, "\"\(element)\": L (last day of the month) takes no step or range")
        }
        let low: Int
        let high: Int
        if base == "*" {
            low = field.bounds.lowerBound
            high = field.lastStepValue
        } else if let dash = base.firstIndex(of: "-") {
            let startText = base[..<dash]
            let endText = base[base.index(after: dash)...]
            guard !startText.isEmpty, !endText.isEmpty else {
                throw error(.syntax, field, "range \"\(element)\" needs a start and an end, e.g. 1-5")
            }
            low = try value(startText, field: field, element: element)
            high = try value(endText, field: field, element: element)
            guard low <= high else {
                throw error(.reversedRange, field, "range \"\(element)\" is reversed (\(low) is after \(high))")
            }
        } else {
            low = try value(base, field: field, element: element)
            high = hasStep ? max(low, field.lastStepValue) : low
        }
        for v in stride(from: low, through: high, by: step) {
            // Sunday is bit 0 whether written 0 or 7.
            set.values |= 1 << UInt64(field == .dayOfWeek ? v % 7 : v)
        }
    }

    private enum WeekdaySpecial {
        case last(weekday: Int)
        case nth(weekday: Int, k: Int)
    }

    /// `nL` and `n#k`; nil when the element is an ordinary day-of-week element.
    private static func weekdaySpecial(_ upper: String, original: String) throws(CronError) -> WeekdaySpecial? {
        let field = CronField.dayOfWeek
        if let hash = upper.firstIndex(of: "#") {
            let dayText = upper[..<hash]
            let kText = upper[upper.index(after: hash)...]
            guard !dayText.isEmpty, !kText.isEmpty, kText.allSatisfy(\.isASCIIDigitCharacter) else {
                throw error(.syntax, field, "\"\(original)\" should be weekday#occurrence, e.g. 5#3 or FRI#3")
            }
            let weekday = try value(dayText, field: field, element: original) % 7
            guard kText.count <= 4, let k = Int(kText), (1...5).contains(k) else {
                throw error(.outOfRange, field, "occurrence \(kText) in \"\(original)\" is out of range 1-5")
            }
            return .nth(weekday: weekday, k: k)
        }
        if upper.hasSuffix("L") {
            let dayText = upper.dropLast()
            guard !dayText.isEmpty else {
                throw error(.syntax, field, "\"\(original)\" needs a weekday before L, e.g. 5L for the last Friday")
            }
            guard !dayText.contains("/"), !dayText.contains("-") else {
                throw error(.syntax, field, "\"\(original)\": L applies to a single weekday, e.g. 5L")
            }
            return .last(weekday: try value(dayText, field: field, element: original) % 7)
        }
        return nil
    }

    /// One number or name, checked against the field's bounds.
    private static func value(_ text: Substring, field: CronField, element: String) throws(CronError) -> Int {
        if text.allSatisfy(\.isASCIIDigitCharacter) {
            guard text.count <= 4, let n = Int(text), field.bounds.contains(n) else {
                throw error(
                    .outOfRange, field, "\(text) is out of range \(field.bounds.lowerBound)-\(field.bounds.upperBound)")
            }
            return n
        }
        if let index = field.names.firstIndex(where: { $0 == text }) {
            return field.bounds.lowerBound + index
        }
        if text.allSatisfy(\.isASCIILetterCharacter) {
            throw error(.unknownName, field, "unknown name \"\(element)\"\(field.nameHint)")
        }
        throw error(.syntax, field, "\"\(element)\" is not a number, name, range or step")
    }

    private static func error(_ code: CronError.Code, _ field: CronField, _ detail: String) -> CronError {
        CronError(code: code, field: field.name, message: "\(field.name): \(detail)")
    }
}

extension Character {
    fileprivate var isASCIIDigitCharacter: Bool { isASCII && isNumber }
    fileprivate var isASCIILetterCharacter: Bool { isASCII && isLetter }
}
