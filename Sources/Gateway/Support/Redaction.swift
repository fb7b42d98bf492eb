import BatonCore

/// Secret values never leave the gateway (CONTRACT §9a "Secrets"): HTTP header and command env values
/// whose names are `Authorization`, `Cookie`, `Proxy-Authorization` or contain `TOKEN`, `SECRET`,
/// `PASSWORD` or `KEY` are shown as `***`.
///
/// Round trip: a client that GETs a job, edits it and PUTs it back sends `***` for those values. Writing
/// that literally would destroy the secret, so on PUT and PATCH an incoming value that is exactly `***`
/// for a sensitive name the stored job already has keeps the stored value (``restoringSecrets(from:)``).
/// To really set a secret to `***`, there is no way; to remove it, omit the key.
enum Redaction {
    static let mask = Secrets.mask

    static func isSensitive(_ name: String) -> Bool { Secrets.isSecret(name: name) }

    static func redact(_ values: [String: String]) -> [String: String] { Secrets.redacted(values) }

    static func restore(_ incoming: [String: String], from stored: [String: String]) -> [String: String] {
        var result = incoming
        for (key, value) in incoming where value == mask && isSensitive(key) {
            if let original = stored[key] { result[key] = original }
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

    /// Puts back stored secrets where the client sent the mask (see ``Redaction``).
    func restoringSecrets(from stored: JobSpec?) -> JobSpec {
        guard let stored else { return self }
        var copy = self
        switch (action, stored.action) {
        case (.http(var http), .http(let old)):
            http.headers = Redaction.restore(http.headers, from: old.headers)
            copy.action = .http(http)
        case (.command(var command), .command(let old)):
            command.env = Redaction.restore(command.env, from: old.env)
            copy.action = .command(command)
        default:
            break
        }
        return copy
    }
}
