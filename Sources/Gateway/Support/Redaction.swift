import BatonCore

/// Secret values never leave the gateway (CONTRACT §9a "Secrets"): HTTP header and command env values
/// whose names are `Authorization`, `Cookie`, `Proxy-Authorization` or contain `TOKEN`, `SECRET`,
/// `PASSWORD` or `KEY` are shown as `***`.
///
/// Round trip: a client that GETs a job, edits it and PUTs it back sends `***` for those values. Writing
/// that literally would destroy the secret, so on PUT and PATCH an incoming value that is exactly `***`
/// for a sensitive name the stored job already has keeps the stored value (``restoringSecrets(from:)``).
/// To really set a secret to `***`, there is no way; to remove it, omit the key.
///
/// A stored secret is kept only while the action's target (``ActionTarget``: scheme, host and port of
/// the URL, or `argv[0]`) is unchanged. An edit that points the action elsewhere and sends the mask is a
/// 422 naming each such field: whoever moves the job to another server must know the secret it sends there.
enum Redaction {
    static let mask = Secrets.mask

    static func isSensitive(_ name: String) -> Bool { Secrets.isSecret(name: name) }

    static func redact(_ values: [String: String]) -> [String: String] { Secrets.redacted(values) }

    /// `incoming` with each masked secret replaced by its stored value; when the target changed, each
    /// masked secret that has a stored value becomes an issue at `field.<name>` instead.
    static func restore(
        _ incoming: [String: String], from stored: [String: String], sameTarget: Bool, field: String, targetField: String,
        issues: inout [FieldIssue]
    ) -> [String: String] {
        var result = incoming
        for (key, value) in incoming.sorted(by: { $0.key < $1.key }) where value == mask && isSensitive(key) {
            guard let original = stored[key] else { continue }
            if sameTarget {
                result[key] = original
            } else {
                issues.append(
                    FieldIssue(
                        field: "\(field).\(key)",
                        message: "the stored secret is not sent to a new target: \(targetField) changed, so give this value again"))
            }
        }
        return result
    }
}

extension JobSpec {
    /// This spec as API responses show it.
    var redacted: JobSpec {
        var copy = self
        switch action {
        case .http(var http):
            http.headers = Redaction.redact(http.headers)
            copy.action = .http(http)
        case .command(var command):
            command.env = Redaction.redact(command.env)
            copy.action = .command(command)
        case .noop:
            break
        }
        return copy
    }

    /// Puts back stored secrets where the client sent the mask, if the action's target is unchanged;
    /// otherwise 422 naming every masked secret (see ``Redaction``).
    func restoringSecrets(from stored: JobSpec?) throws(APIError) -> JobSpec {
        guard let stored else { return self }
        let sameTarget = ActionTarget(action).mayReceiveSecrets(of: ActionTarget(stored.action))
        var copy = self
        var issues: [FieldIssue] = []
        switch (action, stored.action) {
        case (.http(var http), .http(let old)):
            http.headers = Redaction.restore(
                http.headers, from: old.headers, sameTarget: sameTarget, field: "action.http.headers",
                targetField: "the scheme, host or port of action.http.url", issues: &issues)
            copy.action = .http(http)
        case (.command(var command), .command(let old)):
            command.env = Redaction.restore(
                command.env, from: old.env, sameTarget: sameTarget, field: "action.command.env",
                targetField: "the program (action.command.argv[0])", issues: &issues)
            copy.action = .command(command)
        default:
            break
        }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        return copy
    }
}
