import Foundation
import HTTPTypes
import Hummingbird

/// On a loopback bind, answers only requests addressed to `localhost`, `127.0.0.1` or `[::1]`
/// (any port): a web page that rebinds its own DNS name to 127.0.0.1 cannot drive the API (CONTRACT §9a).
struct HostCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    static var allowedHosts: Set<String> { ["localhost", "127.0.0.1", "[::1]"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // HTTP/1 servers move `Host` into `:authority`; a literal Host field (tests, proxies) wins when present.
        let host = request.headers[HTTPField.Name("Host")!] ?? request.head.authority
        guard let host, Self.isAllowed(host) else {
            throw APIError(.forbiddenHost, "this gateway listens on loopback and answers only Host localhost, 127.0.0.1 or [::1]")
        }
        return try await next(request, context)
    }

    static func isAllowed(_ authority: String) -> Bool {
        let lowered = authority.lowercased()
        let hostPart: Substring
        if lowered.hasPrefix("[") {
            guard let close = lowered.firstIndex(of: "]") else { return false }
            hostPart = lowered[...close]
            let rest = lowered[lowered.index(after: close)...]
            guard rest.isEmpty || Self.isPort(rest.dropFirst()) && rest.first == ":" else { return false }
        } else {
            let pieces = lowered.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            hostPart = pieces[0]
            if pieces.count == 2, !Self.isPort(pieces[1]) { return false }
        }
        return allowedHosts.contains(String(hostPart))
    }

    static func isPort(_ text: Substring) -> Bool {
        !text.isEmpty && text.count <= 5 && text.allSatisfy(\.isASCII) && text.allSatisfy(\.isNumber)
    }
}
