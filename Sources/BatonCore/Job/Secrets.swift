/// Which header and environment values are secrets (CONTRACT §9a "Secrets"): names `Authorization`,
/// `Cookie`, `Proxy-Authorization`, or containing `TOKEN`, `SECRET`, `PASSWORD` or `KEY`, in any case.
/// Their values are shown as `***` in API responses and logs; one rule for every role.
public enum Secrets {
    public static let mask = "***"
    private static let exactNames: Set<String> = ["authorization", "cookie", "proxy-authorization"]
    private static let fragments = ["token", "secret", "password", "key"]

    public static func isSecret(name: String) -> Bool {
        let lowered = name.lowercased()
        return exactNames.contains(lowered) || fragments.contains { lowered.contains($0) }
    }

    /// The pairs with secret values replaced by `***`.
    public static func redacted(_ pairs: [String: String]) -> [String: String] {
        var result = pairs
        for name in pairs.keys where isSecret(name: name) { result[name] = mask }
        return result
    }
}
