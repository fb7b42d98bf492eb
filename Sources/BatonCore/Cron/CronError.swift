/// Why a cron expression or its time zone was rejected.
///
/// `field` and `message` are meant for people (the CLI prints `message`, the
/// gateway maps `field` to a problem+json pointer); `code` is for programs, so
/// callers never have to match on wording.
public struct CronError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable, CaseIterable {
        case fieldCount, outOfRange, zeroStep, reversedRange, unknownName, syntax, neverFires, unknownTimeZone
    }

    public var code: Code
    /// `second`, `minute`, `hour`, `day-of-month`, `month`, `day-of-week` or `timezone`;
    /// nil when no single field is to blame (wrong field count, unknown macro).
    public var field: String?
    /// Names the field and quotes the offending text, e.g. `minute: 61 is out of range 0-59`.
    public var message: String

    public init(code: Code, field: String?, message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { message }
}
