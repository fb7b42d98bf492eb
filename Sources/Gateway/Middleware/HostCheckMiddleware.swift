import BatonRuntime
import Foundation
import HTTPTypes
import Hummingbird

/// On a loopback bind, answers only requests addressed to `localhost` or a loopback IP literal such as
/// `127.0.0.1` or `[::1]` (any port): a web page that rebinds its own DNS name to 127.0.0.1 cannot drive
/// the API (CONTRACT §9a). The host part is parsed as an address (``ListenAddress/isLoopback(host:)``),
/// so a name such as `127.0.0.1.evil.example` is refused however it starts.
struct HostCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let host = Self.authority(of: request), Self.isAllowed(host) else {
            throw APIError(.forbiddenHost, "this gateway listens on loopback and answers only Host localhost or a loopback address (127.0.0.1, [::1])")
        }
        return try await next(request, context)
    }

    /// The `Host` the client addressed. HTTP/1 servers move `Host` into `:authority`; a literal Host field
    /// (tests, proxies) wins when present.
    static func authority(of request: Request) -> String? {
        request.headers[HTTPField.Name("Host")!] ?? request.head.authority
    }

    static func isAllowed(_ text: String) -> Bool {
        guard let authority = Authority(text) else { return false }
        // Brackets hold IPv6 literals only (RFC 3986).
        if authority.host.hasPrefix("["), !authority.host.contains(":") { return false }
        return ListenAddress.isLoopback(host: authority.host)
    }
}
