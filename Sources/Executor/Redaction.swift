import BatonCore

/// Action details for log lines, with secret values shown as `***` (the rule lives in `Secrets`).
public enum Redaction {
    /// `name=value` pairs joined by spaces, secrets redacted, sorted by name for stable log lines.
    public static func describe(_ pairs: [String: String]) -> String {
        Secrets.redacted(pairs).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}
