import HTTPTypes
import Hummingbird

/// `Authorization: Bearer <BATON_API_TOKEN>` on every path but `/healthz` and `/readyz`.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    static var openPaths: Set<String> { ["/healthz", "/readyz"] }

    let token: [UInt8]

    init(token: String) { self.token = Array(token.utf8) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.openPaths.contains(request.uri.path) { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw Self.failure("send Authorization: Bearer <token>")
        }
        let prefix = "bearer "
        guard header.utf8.count > prefix.utf8.count, header.lowercased().hasPrefix(prefix) else {
            throw Self.failure("the Authorization header must use the Bearer scheme")
        }
        let presented = Array(header.utf8.dropFirst(prefix.utf8.count))
        guard Self.constantTimeEqual(presented, token) else { throw Self.failure("the token is not valid") }
        return try await next(request, context)
    }

    static func failure(_ detail: String) -> APIError {
        APIError(.unauthorized, detail, headers: ["WWW-Authenticate": "Bearer realm=\"baton\""])
    }

    /// Compares without an early exit, so the time taken does not reveal how many leading bytes matched.
    /// Only the length can leak, which a token's length does not help guess.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0 && a.count == b.count
    }
}
