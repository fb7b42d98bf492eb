import HTTPTypes
import Hummingbird

/// `Authorization: Bearer <token>` on every API path but `/healthz` and `/readyz`. `BATON_API_TOKEN` may do
/// everything; `BATON_API_READ_TOKEN` only GET and HEAD (403 `read-only` otherwise). The console's pages
/// (``ConsolePaths``) authenticate with their own session cookie, checked against the same ``APITokens``.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    static var openPaths: Set<String> { ["/healthz", "/readyz"] }

    let tokens: APITokens

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if Self.openPaths.contains(path) || ConsolePaths.contains(path) { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw Self.failure("send Authorization: Bearer <token>")
        }
        let prefix = "bearer "
        guard header.utf8.count > prefix.utf8.count, header.lowercased().hasPrefix(prefix) else {
            throw Self.failure("the Authorization header must use the Bearer scheme")
        }
        guard let role = tokens.role(of: header.utf8.dropFirst(prefix.utf8.count)) else {
            throw Self.failure("the token is not valid")
        }
        guard role.allows(request.method) else {
            throw APIError(
                .readOnly, "the read-only token (BATON_API_READ_TOKEN) allows GET and HEAD only; \(request.method.rawValue) needs BATON_API_TOKEN")
        }
        return try await next(request, context)
    }

    static func failure(_ detail: String) -> APIError {
        APIError(.unauthorized, detail, headers: ["WWW-Authenticate": "Bearer realm=\"baton\""])
    }
}
