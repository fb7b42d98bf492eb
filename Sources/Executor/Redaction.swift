import BatonCore

/// Action details for log lines, with secret values shown as `***` (the rule lives in `Secrets`).
public enum Redaction {
    /// `name=value` pairs joined by spaces, secrets redacted, sorted by name for stable log lines.
    public static func describe(_ pairs: [String: String]) -> String {
        Secrets.redacted(pairs).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    /// A URL without its userinfo and with secret-looking query values as `***`.
    public static func url(_ url: String) -> String {
        Secrets.redactedURL(url)
    }

    /// argv with secret-looking option values and URLs redacted.
    public static func argv(_ argv: [String]) -> [String] {
        Secrets.redactedArgv(argv)
    }
}
