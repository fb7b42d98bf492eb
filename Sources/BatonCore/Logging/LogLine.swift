/// The text log format, one event per line: `TIME LEVEL label: message key=value key="value with spaces"`.
///
/// Values come from peers and users (an executor id from a `HELLO`, a job name, an error text), so every part is
/// escaped: a value is written bare only when it is made of visible characters other than `"`, `=` and `\`;
/// otherwise it is quoted with `\"`, `\\`, `\n`, `\r`, `\t` and `\u{…}` escapes (logfmt). The message is not quoted
/// (it is prose) but gets the same escapes for `\` and for control and line-breaking characters. Either way no value
/// can end the line or start a new one, so no input can forge a log line.
public enum LogLine {
    public static func text(time: String, level: String, label: String, message: String, fields: [(key: String, value: String)]) -> String {
        var line = "\(time) \(level) \(escapedMessage(label)): \(escapedMessage(message))"
        for (key, value) in fields {
            line += " \(escapedKey(key))=\(escapedValue(value))"
        }
        return line + "\n"
    }

    /// A logfmt value: bare when safe, else quoted and escaped.
    public static func escapedValue(_ value: String) -> String {
        guard !value.isEmpty else { return "\"\"" }
        if value.unicodeScalars.allSatisfy(isBare) { return value }
        var quoted = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            default: quoted += escaped(scalar)
            }
        }
        return quoted + "\""
    }

    /// Prose: kept as written except for backslashes and characters that would break or disguise the line.
    public static func escapedMessage(_ message: String) -> String {
        var result = ""
        for scalar in message.unicodeScalars {
            result += scalar == "\\" ? "\\\\" : escaped(scalar)
        }
        return result
    }

    /// Keys are ours, but metadata dictionaries can carry any string: anything outside a key's alphabet becomes `_`.
    public static func escapedKey(_ key: String) -> String {
        guard !key.isEmpty else { return "_" }
        return String(String.UnicodeScalarView(key.unicodeScalars.map { isBare($0) ? $0 : "_" }))
    }

    private static func isBare(_ scalar: Unicode.Scalar) -> Bool {
        scalar != " " && scalar != "=" && scalar != "\"" && scalar != "\\" && !needsEscape(scalar)
    }

    /// Control characters, line and paragraph separators, and invisible format characters (bidi overrides among
    /// them, which could make a line read differently from what it holds).
    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse: true
        default: false
        }
    }

    private static func escaped(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default:
            guard needsEscape(scalar) else { return String(scalar) }
            return "\\u{\(String(scalar.value, radix: 16))}"
        }
    }
}
