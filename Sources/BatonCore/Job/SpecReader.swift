/// Walks a `JSONValue` while collecting every problem with its field path.
///
/// Readers return nil for a missing or invalid value and record why; callers keep
/// going so one response lists all the issues of a spec.
struct SpecReader {
    private(set) var issues: [FieldIssue] = []
    /// How strictly to read: see ``JobSpec/Reading``.
    var reading = JobSpec.Reading.input
    /// The duration bounds (`TimeBounds`) apply to what clients send; a spec an older build stored before they
    /// existed is read as it is, because every computation on its values is total (saturating, checked).
    var enforcesDurationBounds: Bool { reading == .input }

    mutating func fail(_ path: String, _ message: String) {
        issues.append(FieldIssue(field: path, message: message))
    }

    static func join(_ base: String, _ key: String) -> String {
        base.isEmpty ? key : "\(base).\(key)"
    }

    /// The members of an object, rejecting keys outside `allowed` (typos should not pass silently). A stored spec
    /// skips them instead: they are fields of a newer Baton that wrote it (see ``JobSpec/Reading/stored``).
    mutating func object(
        _ value: JSONValue?, at path: String, allowed: Set<String>, ignored: Set<String> = []
    ) -> [String: JSONValue]? {
        guard let value else { return nil }
        guard case .object(let members) = value else {
            fail(path.isEmpty ? "$" : path, "must be an object, not \(value.typeName)")
            return nil
        }
        switch reading {
        case .input:
            for key in members.keys.sorted() where !allowed.contains(key) && !ignored.contains(key) {
                fail(SpecReader.join(path, key), "is not a known field")
            }
            return members.filter { !ignored.contains($0.key) }
        case .stored:
            return members.filter { allowed.contains($0.key) }
        }
    }

    mutating func string(_ value: JSONValue?, at path: String) -> String? {
        guard let value, value != .null else { return nil }
        guard case .string(let text) = value else {
            fail(path, "must be a string, not \(value.typeName)")
            return nil
        }
        return text
    }

    mutating func bool(_ value: JSONValue?, at path: String) -> Bool? {
        guard let value, value != .null else { return nil }
        guard case .bool(let flag) = value else {
            fail(path, "must be true or false, not \(value.typeName)")
            return nil
        }
        return flag
    }

    mutating func number(_ value: JSONValue?, at path: String) -> Double? {
        guard let value, value != .null else { return nil }
        guard case .number(let number) = value, number.isFinite else {
            fail(path, "must be a number, not \(value.typeName)")
            return nil
        }
        return number
    }

    mutating func integer(_ value: JSONValue?, at path: String, in range: ClosedRange<Int>) -> Int? {
        guard let number = number(value, at: path) else { return nil }
        guard number.rounded() == number, number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
            fail(path, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return Int(number)
    }

    /// A duration within `bounds` (one of `TimeBounds`); outside them the issue states the bound.
    mutating func timeSpan(_ value: JSONValue?, at path: String, in bounds: ClosedRange<TimeSpan>) -> TimeSpan? {
        guard let text = string(value, at: path) else { return nil }
        let span: TimeSpan
        do {
            span = try TimeSpan(parsing: text)
        } catch {
            if error.isTooLarge {
                fail(path, "must be \(bounds.boundDescription), not \"\(text)\"")
            } else {
                fail(path, "\"\(text)\" is not a duration (write 500ms, 30s, 5m, 2h, 1d or 1h30m)")
            }
            return nil
        }
        guard bounds.contains(span) || !enforcesDurationBounds else {
            fail(path, "must be \(bounds.boundDescription), not \"\(text)\"")
            return nil
        }
        return span
    }

    mutating func timestamp(_ value: JSONValue?, at path: String) -> Timestamp? {
        guard let text = string(value, at: path) else { return nil }
        guard let instant = Timestamp(rfc3339: text) else {
            fail(path, "\"\(text)\" is not an RFC 3339 time in years 0001–9999, such as 2026-03-08T07:30:00Z")
            return nil
        }
        return instant
    }

    mutating func stringMap(_ value: JSONValue?, at path: String) -> [String: String]? {
        guard let value, value != .null else { return nil }
        guard case .object(let members) = value else {
            fail(path, "must be an object of strings, not \(value.typeName)")
            return nil
        }
        var result: [String: String] = [:]
        for (key, member) in members.sorted(by: { $0.key < $1.key }) {
            if let text = string(member, at: SpecReader.join(path, key)) { result[key] = text }
        }
        return result
    }

    mutating func stringArray(_ value: JSONValue?, at path: String) -> [String]? {
        guard let value, value != .null else { return nil }
        guard case .array(let elements) = value else {
            fail(path, "must be an array of strings, not \(value.typeName)")
            return nil
        }
        var result: [String] = []
        for (index, element) in elements.enumerated() {
            if let text = string(element, at: "\(path)[\(index)]") { result.append(text) }
        }
        return result
    }

    mutating func enumeration<E: RawRepresentable & CaseIterable>(
        _ value: JSONValue?, at path: String, as type: E.Type
    ) -> E? where E.RawValue == String {
        guard let text = string(value, at: path) else { return nil }
        guard let result = E(rawValue: text) else {
            fail(path, "\"\(text)\" is not one of \(E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            return nil
        }
        return result
    }
}
