import Foundation

/// Secrets inside URLs and argv, for log lines. The header/env rule (``Secrets/isSecret(name:)``) is the contract's
/// and decides what the API shows; query parameters and flags name their secrets more loosely (`sig`,
/// `X-Amz-Signature`, `auth`, `--passwd`), so their rule is that one plus a few more fragments. Over-redacting a log
/// line costs a little reading; under-redacting leaks a credential into every log store downstream.
extension Secrets {
    private static let parameterFragments = ["auth", "signature", "credential", "passwd", "session"]
    private static let parameterNames: Set<String> = ["sig", "pwd", "code", "pass"]

    /// Whether a URL query parameter or command-line option called `name` carries a secret.
    public static func isSecretParameter(name: String) -> Bool {
        let lowered = name.lowercased()
        return isSecret(name: lowered) || parameterNames.contains(lowered) || parameterFragments.contains { lowered.contains($0) }
    }

    /// `url` with its userinfo (`user:password@`) and the values of secret-looking query and fragment parameters
    /// replaced by `***`. Works on the text, so a URL that does not parse is still redacted.
    public static func redactedURL(_ url: String) -> String {
        var rest = Substring(url)
        var result = ""
        if let scheme = rest.range(of: "://") {
            result += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            let authority = rest[..<end]
            if let at = authority.lastIndex(of: "@") {
                result += mask + authority[at...]
            } else {
                result += authority
            }
            rest = rest[end...]
        }
        let fragmentStart = rest.firstIndex(of: "#") ?? rest.endIndex
        var beforeFragment = rest[..<fragmentStart]
        if let question = beforeFragment.firstIndex(of: "?") {
            result += beforeFragment[...question]
            beforeFragment = beforeFragment[beforeFragment.index(after: question)...]
            result += redactedParameters(beforeFragment)
        } else {
            result += beforeFragment
        }
        if fragmentStart < rest.endIndex {
            // Fragments carry tokens too (OAuth's `#access_token=…`).
            result += "#" + redactedParameters(rest[rest.index(after: fragmentStart)...])
        }
        return result
    }

    private static func redactedParameters(_ text: Substring) -> String {
        text.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
            let name = pair[..<equals]
            let decoded = String(name).removingPercentEncoding ?? String(name)
            return isSecretParameter(name: decoded) ? "\(name)=\(mask)" : String(pair)
        }.joined(separator: "&")
    }

    /// `argv` with secrets replaced by `***`: the value of `--name=value` / `NAME=value` when the name looks secret,
    /// the argument after a secret-looking option (`--password hunter2`), and URLs redacted as above.
    public static func redactedArgv(_ argv: [String]) -> [String] {
        var result: [String] = []
        result.reserveCapacity(argv.count)
        var hideNext = false
        for (index, argument) in argv.enumerated() {
            if hideNext {
                hideNext = false
                result.append(mask)
                continue
            }
            if argument.contains("://") {
                result.append(redactedURL(argument))
            } else if index > 0, let equals = argument.firstIndex(of: "=") {
                let key = argument[..<equals].drop { $0 == "-" }
                let secret = !key.isEmpty && isSecretParameter(name: String(key))
                result.append(secret ? String(argument[..<equals]) + "=" + mask : argument)
            } else if index > 0, argument.hasPrefix("-") {
                let name = argument.drop { $0 == "-" }
                if !name.isEmpty, isSecretParameter(name: String(name)) {
                    result.append(argument)
                    hideNext = true
                    continue
                }
                result.append(argument)
            } else {
                result.append(argument)
            }
        }
        return result
    }
}
