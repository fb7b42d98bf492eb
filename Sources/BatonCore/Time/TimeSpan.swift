/// A length of time in whole milliseconds, written the way operators write it:
/// `500ms`, `30s`, `5m`, `2h`, `1d` or combined `1h30m` (CONTRACT §3).
///
/// Encodes to and decodes from that text in JSON, so job specs read naturally.
public struct TimeSpan: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var milliseconds: Int64

    @inlinable public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    // The constructors and operators saturate at Int64's range rather than trap: a span that large is already
    // outside every bound in `TimeBounds`, so the validation that follows reports it instead of a crash.
    public static func milliseconds(_ n: Int64) -> TimeSpan { TimeSpan(milliseconds: n) }
    public static func seconds(_ n: Int64) -> TimeSpan { TimeSpan(milliseconds: n.multipliedSaturated(by: 1000)) }
    public static func minutes(_ n: Int64) -> TimeSpan { TimeSpan(milliseconds: n.multipliedSaturated(by: 60_000)) }
    public static func hours(_ n: Int64) -> TimeSpan { TimeSpan(milliseconds: n.multipliedSaturated(by: 3_600_000)) }
    public static func days(_ n: Int64) -> TimeSpan { TimeSpan(milliseconds: n.multipliedSaturated(by: 86_400_000)) }
    public static let zero = TimeSpan(milliseconds: 0)

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.milliseconds < rhs.milliseconds }
    /// Saturates at Int64's range.
    public static func + (lhs: TimeSpan, rhs: TimeSpan) -> TimeSpan {
        TimeSpan(milliseconds: lhs.milliseconds.addingSaturated(rhs.milliseconds))
    }
    /// Saturates at Int64's range.
    public static func * (lhs: TimeSpan, rhs: Int64) -> TimeSpan {
        TimeSpan(milliseconds: lhs.milliseconds.multipliedSaturated(by: rhs))
    }

    /// The same length as a Swift `Duration`, for clocks and sleeps.
    public var duration: Duration { .milliseconds(milliseconds) }

    private static let units: [(suffix: String, milliseconds: Int64)] = [
        ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
    ]

    /// Parses `500ms`, `30s`, `1h30m`, `0s`. Units must appear at most once each, largest first.
    public init(parsing text: String) throws(TimeSpanError) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw TimeSpanError(text: text, reason: "is empty") }
        var total: Int64 = 0
        var index = 0
        var lastUnitRank = -1
        while index < bytes.count {
            var value: Int64 = 0
            var digits = 0
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
                guard !o1, !o2 else { throw TimeSpanError(text: text, reason: "is too large") }
                value = a
                digits += 1
                index += 1
            }
            guard digits > 0 else {
                throw TimeSpanError(text: text, reason: "needs a number before each unit (e.g. 30s, 1h30m)")
            }
            var unitEnd = index
            while unitEnd < bytes.count, bytes[unitEnd] >= UInt8(ascii: "a"), bytes[unitEnd] <= UInt8(ascii: "z") {
                unitEnd += 1
            }
            let suffix = String(decoding: bytes[index..<unitEnd], as: UTF8.self)
            guard let rank = TimeSpan.units.firstIndex(where: { $0.suffix == suffix }) else {
                throw TimeSpanError(
                    text: text, reason: suffix.isEmpty ? "needs a unit (ms, s, m, h or d)" : "has unknown unit \"\(suffix)\"")
            }
            guard rank > lastUnitRank else {
                throw TimeSpanError(text: text, reason: "must list units once each, largest first (e.g. 1h30m)")
            }
            lastUnitRank = rank
            let (product, o1) = value.multipliedReportingOverflow(by: TimeSpan.units[rank].milliseconds)
            let (sum, o2) = total.addingReportingOverflow(product)
            guard !o1, !o2 else { throw TimeSpanError(text: text, reason: "is too large") }
            total = sum
            index = unitEnd
        }
        self.milliseconds = total
    }

    /// The shortest canonical text: `1h30m`, `500ms`, `0s`.
    public var description: String {
        if milliseconds == 0 { return "0s" }
        var rest = milliseconds.magnitude
        var out = milliseconds < 0 ? "-" : ""
        for unit in TimeSpan.units {
            let size = UInt64(unit.milliseconds)
            if rest >= size {
                out += "\(rest / size)\(unit.suffix)"
                rest %= size
            }
        }
        return out
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try TimeSpan(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public struct TimeSpanError: Error, Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var reason: String
    public var description: String { "duration \"\(text)\" \(reason)" }

    /// The text is a well-formed duration too long for Int64 milliseconds, so above every bound.
    public var isTooLarge: Bool { reason == "is too large" }
}
