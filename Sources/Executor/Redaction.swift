/// Secrets in header and env names are shown as `***` in logs (CONTRACT §9a "Secrets").
public enum Redaction {
    private static let exactNames: Set<String> = ["authorization", "cookie", "proxy-authorization"]
    private static let markers = ["TOKEN", "SECRET", "PASSWORD", "KEY"]

    /// Whether the value of a header or environment variable with this name must not be shown.
    public static func isSecret(name: String) -> Bool {
        if exactNames.contains(name.lowercased()) { return true }
        let upper = name.uppercased()
        return markers.contains { upper.contains($0) }
    }

    /// The pairs with secret values replaced by `***`, sorted by name for stable log lines.
    public static func redacted(_ pairs: [String: String]) -> [String: String] {
        var out: [String: String] = [:]
        for (name, value) in pairs {
            out[name] = isSecret(name: name) ? "***" : value
        }
        return out
    }

    /// `name=value` pairs joined by spaces, secrets redacted.
    public static func describe(_ pairs: [String: String]) -> String {
        redacted(pairs).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}
