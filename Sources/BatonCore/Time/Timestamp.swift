/// An instant in UTC as whole milliseconds since 1970-01-01T00:00:00Z.
///
/// Baton never stores or hashes floating-point time: slots, leases and due
/// times are integers, so every process computes the same ticket id for the
/// same slot (CONTRACT §9a "Time in the hash").
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var milliseconds: Int64

    @inlinable
    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    /// Saturates at Int64's range.
    @inlinable
    public init(seconds: Int64) {
        self.milliseconds = seconds.multipliedSaturated(by: 1000)
    }

    /// 0001-01-01T00:00:00.000Z, the first instant RFC 3339 can write (see `TimeBounds`).
    public static let earliest = Timestamp(milliseconds: -62_135_596_800_000)
    /// 9999-12-31T23:59:59.999Z, the last instant RFC 3339 can write (see `TimeBounds`).
    public static let latest = Timestamp(milliseconds: 253_402_300_799_999)

    /// Whether this instant lies in years 0001–9999. Everything Baton computes does; a stored value from an older
    /// build might not.
    @inlinable
    public var isInCalendarRange: Bool { self >= Timestamp.earliest && self <= Timestamp.latest }

    /// This instant pinned to years 0001–9999.
    @inlinable
    public var clampedToCalendar: Timestamp { min(max(self, Timestamp.earliest), Timestamp.latest) }

    /// `self + span`, or nil when the result would leave years 0001–9999 (or Int64).
    @inlinable
    public func adding(_ span: TimeSpan) -> Timestamp? {
        let (sum, overflow) = milliseconds.addingReportingOverflow(span.milliseconds)
        guard !overflow else { return nil }
        let result = Timestamp(milliseconds: sum)
        return result.isInCalendarRange ? result : nil
    }

    @inlinable
    public var seconds: Int64 { milliseconds.floorDivided(by: 1000) }

    @inlinable
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// Clamps to years 0001–9999: an instant pushed past the end of the calendar means "never" (a deadline, a
    /// retry, a look-ahead that cannot come), and clamped it still compares correctly and formats as RFC 3339.
    /// Use ``adding(_:)`` where leaving the range must be noticed.
    @inlinable
    public static func + (lhs: Timestamp, rhs: TimeSpan) -> Timestamp {
        Timestamp(milliseconds: lhs.milliseconds.addingSaturated(rhs.milliseconds)).clampedToCalendar
    }

    /// Clamps to years 0001–9999, like `+`.
    @inlinable
    public static func - (lhs: Timestamp, rhs: TimeSpan) -> Timestamp {
        Timestamp(milliseconds: lhs.milliseconds.subtractingSaturated(rhs.milliseconds)).clampedToCalendar
    }

    /// Saturates at Int64's range (only reachable with stored values from outside the calendar range).
    @inlinable
    public static func - (lhs: Timestamp, rhs: Timestamp) -> TimeSpan {
        TimeSpan(milliseconds: lhs.milliseconds.subtractingSaturated(rhs.milliseconds))
    }

    /// RFC 3339 in UTC with whole seconds: `2026-03-08T07:30:00Z`. Milliseconds are truncated.
    public var rfc3339: String { format(fractionDigits: 0) }

    /// RFC 3339 in UTC with exactly three fraction digits: `2026-03-08T07:30:00.000Z` (the ticket hash form).
    public var rfc3339Milliseconds: String { format(fractionDigits: 3) }

    public var description: String {
        milliseconds % 1000 == 0 ? rfc3339 : rfc3339Milliseconds
    }

    /// Always RFC 3339 (four-digit year): an out-of-range stored value is written as the nearest end of the range
    /// rather than as an extended year no client can parse.
    private func format(fractionDigits: Int) -> String {
        let c = CivilDateTime(clampedToCalendar)
        var out = ""
        out.reserveCapacity(24)
        out += String(c.year).leftPadded(to: 4)
        out += "-" + String(c.month).leftPadded(to: 2)
        out += "-" + String(c.day).leftPadded(to: 2)
        out += "T" + String(c.hour).leftPadded(to: 2)
        out += ":" + String(c.minute).leftPadded(to: 2)
        out += ":" + String(c.second).leftPadded(to: 2)
        if fractionDigits == 3 {
            out += "." + String(c.millisecond).leftPadded(to: 3)
        }
        out += "Z"
        return out
    }

    // MARK: Codable — an RFC 3339 string in JSON, never a number.

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected an RFC 3339 time such as 2026-03-08T07:30:00Z, got \"\(text)\"")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Timestamp {
    /// Parses RFC 3339 (`2026-03-08T07:30:00Z`, `2026-03-08T02:30:00.250-05:00`, `t`/space separator accepted).
    /// Fractions beyond milliseconds are truncated. Returns nil on anything else, including an instant outside
    /// 0001-01-01T00:00:00Z … 9999-12-31T23:59:59.999Z (`0000-…`, or an offset that moves the instant past an end).
    public init?(rfc3339 text: String) {
        var scanner = DigitScanner(Array(text.utf8))
        guard let year = scanner.number(digits: 4), scanner.expect(UInt8(ascii: "-")),
            let month = scanner.number(digits: 2), scanner.expect(UInt8(ascii: "-")),
            let day = scanner.number(digits: 2)
        else { return nil }
        guard let separator = scanner.next(), separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t")
            || separator == UInt8(ascii: " ")
        else { return nil }
        guard let hour = scanner.number(digits: 2), scanner.expect(UInt8(ascii: ":")),
            let minute = scanner.number(digits: 2), scanner.expect(UInt8(ascii: ":")),
            let second = scanner.number(digits: 2)
        else { return nil }
        var millis = 0
        if scanner.peek() == UInt8(ascii: ".") {
            _ = scanner.next()
            var digits = 0
            while let d = scanner.peekDigit() {
                _ = scanner.next()
                if digits < 3 { millis = millis * 10 + d }
                digits += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        var offsetSeconds = 0
        switch scanner.next() {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            break
        case let sign? where sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"):
            guard let oh = scanner.number(digits: 2), scanner.expect(UInt8(ascii: ":")),
                let om = scanner.number(digits: 2), oh < 24, om < 60
            else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        guard scanner.atEnd else { return nil }
        guard (1...12).contains(month), day >= 1, day <= CivilDateTime.daysInMonth(year: year, month: month),
            hour < 24, minute < 60, second < 60
        else { return nil }
        let local = CivilDateTime(
            year: year, month: month, day: day, hour: hour, minute: minute, second: second, millisecond: millis)
        let instant = Timestamp(milliseconds: local.millisecondsAsIfUTC - Int64(offsetSeconds) * 1000)
        guard instant.isInCalendarRange else { return nil }
        self = instant
    }
}

/// A calendar date and wall-clock time with no zone (proleptic Gregorian).
///
/// Conversions use Howard Hinnant's days-from-civil algorithms: exact, branch-light and allocation-free.
public struct CivilDateTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    public var millisecond: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, millisecond: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.millisecond = millisecond
    }

    /// The wall-clock reading of `timestamp` at UTC plus `offsetSeconds`.
    public init(_ timestamp: Timestamp, offsetSeconds: Int = 0) {
        let ms = timestamp.milliseconds.addingSaturated(Int64(offsetSeconds).multipliedSaturated(by: 1000))
        let days = ms.floorDivided(by: 86_400_000)
        // The floor remainder, computed so that it cannot overflow even for Int64.min.
        let msOfDay = Int((ms % 86_400_000 + 86_400_000) % 86_400_000)
        let (y, m, d) = CivilDateTime.civil(fromDays: days)
        self.init(
            year: y, month: m, day: d, hour: msOfDay / 3_600_000, minute: msOfDay / 60_000 % 60,
            second: msOfDay / 1000 % 60, millisecond: msOfDay % 1000)
    }

    /// Milliseconds since the epoch if this wall-clock reading were UTC.
    public var millisecondsAsIfUTC: Int64 {
        let days = CivilDateTime.days(fromCivil: year, month, day)
        return days * 86_400_000 + Int64(hour) * 3_600_000 + Int64(minute) * 60_000 + Int64(second) * 1000
            + Int64(millisecond)
    }

    /// Day of week, 0 = Sunday … 6 = Saturday.
    public var weekday: Int {
        CivilDateTime.weekday(days: CivilDateTime.days(fromCivil: year, month, day))
    }

    public static func < (lhs: CivilDateTime, rhs: CivilDateTime) -> Bool {
        lhs.millisecondsAsIfUTC < rhs.millisecondsAsIfUTC
    }

    public var description: String {
        "\(String(year).leftPadded(to: 4))-\(String(month).leftPadded(to: 2))-\(String(day).leftPadded(to: 2))T"
            + "\(String(hour).leftPadded(to: 2)):\(String(minute).leftPadded(to: 2)):\(String(second).leftPadded(to: 2))"
    }

    public static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date.
    public static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func civil(fromDays z0: Int64) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }

    public static func weekday(days: Int64) -> Int {
        // 1970-01-01 was a Thursday (4).
        Int((days % 7 + 7 + 4) % 7)
    }
}

extension Int64 {
    @usableFromInline
    func floorDivided(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}

struct DigitScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index == bytes.count }

    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    func peekDigit() -> Int? {
        guard let b = peek(), b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
        return Int(b - UInt8(ascii: "0"))
    }

    mutating func next() -> UInt8? {
        guard index < bytes.count else { return nil }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func expect(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        index += 1
        return true
    }

    mutating func number(digits: Int) -> Int? {
        var value = 0
        for _ in 0..<digits {
            guard let d = peekDigit() else { return nil }
            value = value * 10 + d
            index += 1
        }
        return value
    }
}
