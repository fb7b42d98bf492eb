import BatonCore
import BatonRuntime
import ZeroMQ

/// Everything the gateway role needs, built once from flags and environment by `baton gateway`
/// (or by a test), validated by ``validate()`` before anything listens.
public struct GatewayConfiguration: Sendable {
    /// `BATON_HTTP_BIND`.
    public var bind: ListenAddress
    /// `BATON_API_TOKEN`; nil disables authentication, which only a loopback bind allows.
    public var apiToken: String?
    /// `BATON_API_READ_TOKEN`: a second token that may only look (GET and HEAD on the API, the console without its
    /// actions); nil for none. Needs `apiToken`.
    public var apiReadToken: String?
    /// `BATON_SCHEDULERS`: where manual triggers send `WAKE`.
    public var schedulers: [String]
    /// `BATON_ALLOW_COMMANDS`: accept `command` jobs.
    public var allowCommands: Bool
    /// Executors and schedulers whose last heartbeat is older than this are not listed.
    public var nodeLiveness: TimeSpan
    /// The gateway's CURVE key pair and the schedulers' public key, for schedulers with keys
    /// (`BATON_DISPATCH_SECRET_KEY[_FILE]`, `BATON_DISPATCH_SERVER_KEY[_FILE]`).
    public var dispatchKeys: CurveKeyPair?
    public var dispatchServerKey: CurvePublicKey?

    /// Every default, in one place (the initialiser's parameters); `baton gateway`'s help text and env fallbacks read
    /// them from here, and a test holds Docs/Configuration.md to them.
    public static let defaults = GatewayConfiguration()

    public init(
        bind: ListenAddress = ListenAddress(host: "127.0.0.1", port: 8080), apiToken: String? = nil, apiReadToken: String? = nil,
        schedulers: [String] = ["tcp://127.0.0.1:7710"], allowCommands: Bool = false,
        nodeLiveness: TimeSpan = .seconds(30)
    ) {
        self.bind = bind
        self.apiToken = apiToken
        self.apiReadToken = apiReadToken
        self.schedulers = schedulers
        self.allowCommands = allowCommands
        self.nodeLiveness = nodeLiveness
    }

    /// Refuses a configuration that would expose an unauthenticated API beyond this machine (CONTRACT §9).
    public func validate() throws(GatewayConfigurationError) {
        if apiToken == nil && !bind.isLoopback {
            throw GatewayConfigurationError(
                "refusing to listen on \(bind) without BATON_API_TOKEN: only a loopback address may run without a token")
        }
        if !TimeBounds.internalInterval.contains(nodeLiveness) {
            throw GatewayConfigurationError("node liveness must be \(TimeBounds.internalInterval.boundDescription), not \(nodeLiveness)")
        }
        if (dispatchKeys == nil) != (dispatchServerKey == nil) {
            throw GatewayConfigurationError(
                "BATON_DISPATCH_SECRET_KEY and BATON_DISPATCH_SERVER_KEY (or their _FILE forms) go together: CURVE needs the gateway's key and the scheduler's")
        }
        if let apiToken, !Self.isPrintableToken(apiToken) {
            throw GatewayConfigurationError("BATON_API_TOKEN must be printable ASCII without spaces")
        }
        if let apiReadToken {
            guard let apiToken else {
                throw GatewayConfigurationError(
                    "BATON_API_READ_TOKEN needs BATON_API_TOKEN: without a full token the API is open to everyone, so a read-only one means nothing")
            }
            guard Self.isPrintableToken(apiReadToken) else {
                throw GatewayConfigurationError("BATON_API_READ_TOKEN must be printable ASCII without spaces")
            }
            guard apiReadToken != apiToken else {
                throw GatewayConfigurationError("BATON_API_READ_TOKEN must differ from BATON_API_TOKEN")
            }
        }
    }

    private static func isPrintableToken(_ token: String) -> Bool {
        !token.isEmpty && !token.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7f })
    }
}

public struct GatewayConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// Every default, in one place (the initialiser's parameters); `baton gateway`'s help text and env fallbacks read
    /// them from here, and a test holds Docs/Configuration.md to them.
    public static let defaults = GatewayConfiguration()

    public init(_ description: String) { self.description = description }
}
