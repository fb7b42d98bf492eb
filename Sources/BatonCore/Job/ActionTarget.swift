import Foundation

/// Where an action's secrets go: the origin (scheme, host, port) of an HTTP action, the program
/// (`argv[0]`) of a command. A stored secret may be kept across an edit only while the target stays the
/// same (see `Redaction` in the gateway): otherwise anyone allowed to edit a job could point it at their
/// own server and have the executor send them the job's `Authorization` header.
public enum ActionTarget: Sendable, Hashable {
    /// Scheme and host lowercased, the port explicit (80 and 443 when the URL leaves it out).
    case origin(scheme: String, host: String, port: Int)
    case program(String)
    /// An action with no secrets to send (noop), or an HTTP URL that does not parse: never the same as
    /// another target, not even itself, so nothing stored is handed to it.
    case nowhere

    public init(_ action: Action) {
        switch action {
        case .http(let http):
            guard let components = URLComponents(string: http.url), let scheme = components.scheme?.lowercased(),
                let host = components.host?.lowercased(), !host.isEmpty
            else {
                self = .nowhere
                return
            }
            let defaultPort = ["http": 80, "https": 443][scheme]
            guard let port = components.port ?? defaultPort else {
                self = .nowhere
                return
            }
            self = .origin(scheme: scheme, host: host, port: port)
        case .command(let command):
            self = command.argv.first.map(ActionTarget.program) ?? .nowhere
        case .noop:
            self = .nowhere
        }
    }

    /// Whether a secret stored for `self` may be sent to `other`.
    public func mayReceiveSecrets(of other: ActionTarget) -> Bool {
        self != .nowhere && self == other
    }
}
