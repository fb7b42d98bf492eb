import Foundation
import HTTPTypes
import Hummingbird

/// Every request with an unsafe method (anything but GET, HEAD and OPTIONS: POST, PUT, PATCH, DELETE) must
/// say `Content-Type: application/json` (PATCH may say `application/merge-patch+json`), with a body or
/// without one: pause, resume, trigger, cancel and DELETE have no body, and a form on any web site could
/// post to them. A page can send JSON to another origin only after a CORS preflight, which this API never
/// grants, so the rule leaves a page nothing to send (CONTRACT §9a, §11). A declared length over 1 MiB is
/// refused before reading a byte.
struct BodyPolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let length = request.headers[.contentLength].flatMap { Int($0) }
        if let length, length > JSONBody.maximumRequestSize {
            throw APIError(.contentTooLarge, "request bodies are limited to 1 MiB (got \(length) bytes)")
        }
        // The console's forms are urlencoded by nature; its unsafe requests are held by a session and a CSRF token
        // instead (ConsoleController), and it reads at most ConsoleForm.maximumSize bytes.
        if Self.isUnsafe(request.method), !ConsolePaths.contains(request.uri.path) {
            let mediaType = request.headers[.contentType].map(Self.mediaType) ?? ""
            let accepted: Set<String> =
                request.method == .patch ? ["application/json", "application/merge-patch+json"] : ["application/json"]
            guard accepted.contains(mediaType) else {
                throw APIError(
                    .unsupportedMediaType,
                    "\(request.method.rawValue) requests must send Content-Type: \(accepted.sorted().joined(separator: " or ")), "
                        + "with a body or without one" + (mediaType.isEmpty ? "" : " (got \(mediaType))"))
            }
        }
        return try await next(request, context)
    }

    /// Methods that change state. Everything else the router knows is GET, HEAD or OPTIONS.
    static func isUnsafe(_ method: HTTPRequest.Method) -> Bool {
        ![.get, .head, .options].contains(method)
    }

    /// `Application/JSON; charset=utf-8` → `application/json`.
    static func mediaType(_ header: String) -> String {
        String(header.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0])
            .trimmingCharacters(in: .whitespaces).lowercased()
    }
}
