import HTTPTypes
import Hummingbird

/// Refuses (403) an unsafe request that a browser marks as coming from a page of another origin, whatever
/// the bind and whether or not a token is configured: cheap, and the same rule everywhere.
///
/// - `Sec-Fetch-Site` (sent by current browsers on every request) must be `same-origin`, or `none` (the
///   user typed the URL). `same-site` is refused too: another port on `localhost` is another program.
/// - `Origin` (sent on every cross-origin and most same-origin unsafe requests) must name the host and
///   port the request was addressed to (`Host`); `null` (sandboxed frames, `file:` pages) is refused.
///
/// Clients that send neither header (curl, `baton jobs`, scripts) are not affected. A reverse proxy in
/// front of the gateway must pass the browser's `Host` through unchanged (nginx: `proxy_set_header Host
/// $host`), or browser pages it serves cannot change anything.
struct SameOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    static var fetchSiteName: HTTPField.Name { HTTPField.Name("Sec-Fetch-Site")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if BodyPolicyMiddleware<Context>.isUnsafe(request.method) {
            if let site = request.headers[Self.fetchSiteName]?.lowercased(), site != "same-origin", site != "none" {
                throw APIError(.crossSite, "Sec-Fetch-Site: \(site) — unsafe requests are accepted only from this origin")
            }
            if let origin = request.headers[.origin] {
                let target = HostCheckMiddleware<Context>.authority(of: request).flatMap(Authority.init)
                guard let target, Self.origin(origin, isSameAs: target) else {
                    throw APIError(.crossSite, "Origin \(origin) is not this API's origin; unsafe requests are accepted only from it")
                }
            }
        }
        return try await next(request, context)
    }

    /// Whether the serialized origin `scheme://host[:port]` names `target`. A `Host` without a port was sent
    /// to its scheme's default port, which only an origin on its own scheme's default port can match; the
    /// scheme itself is not compared, because TLS may end at a proxy in front of the gateway.
    static func origin(_ origin: String, isSameAs target: Authority) -> Bool {
        let lowered = origin.lowercased()
        let schemes: [(prefix: String, defaultPort: Int)] = [("http://", 80), ("https://", 443)]
        guard let scheme = schemes.first(where: { lowered.hasPrefix($0.prefix) }),
            let authority = Authority(String(lowered.dropFirst(scheme.prefix.count))), authority.host == target.host
        else { return false }
        return (authority.port ?? scheme.defaultPort) == (target.port ?? scheme.defaultPort)
    }
}
