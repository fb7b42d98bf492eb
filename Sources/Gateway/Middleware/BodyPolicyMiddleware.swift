import Foundation
import HTTPTypes
import Hummingbird

/// Requests that carry a body must say it is JSON (`application/json`, or
/// `application/merge-patch+json` for PATCH), so an HTML form cannot post to the API (CONTRACT §9a);
/// a declared length over 1 MiB is refused before reading a byte.
struct BodyPolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let length = request.headers[.contentLength].flatMap { Int($0) }
        if let length, length > JSONBody.maximumRequestSize {
            throw APIError(.contentTooLarge, "request bodies are limited to 1 MiB (got \(length) bytes)")
        }
        let chunked = request.headers[.transferEncoding]?.lowercased().contains("chunked") ?? false
        let hasBody = (length ?? 0) > 0 || chunked
        if hasBody {
            let mediaType = request.headers[.contentType].map(Self.mediaType) ?? ""
            let accepted: Set<String> =
                request.method == .patch ? ["application/json", "application/merge-patch+json"] : ["application/json"]
            guard accepted.contains(mediaType) else {
                throw APIError(
                    .unsupportedMediaType,
                    "request bodies must be sent as \(accepted.sorted().joined(separator: " or "))"
                        + (mediaType.isEmpty ? "" : ", not \(mediaType)"))
            }
        }
        return try await next(request, context)
    }

    /// `Application/JSON; charset=utf-8` → `application/json`.
    static func mediaType(_ header: String) -> String {
        String(header.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0])
            .trimmingCharacters(in: .whitespaces).lowercased()
    }
}
