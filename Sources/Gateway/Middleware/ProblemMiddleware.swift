import BatonCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Turns every error below it into an RFC 9457 `application/problem+json` response: the one
/// place where failures get their status (``APIError/init(mapping:)`` decides which).
///
/// Hummingbird answers a known path with an unknown method as "not found"; this middleware
/// consults the ``RouteTable`` and answers 405 with `Allow` instead.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var problem = APIError(mapping: error)
            if problem.code == .notFound, error is HTTPError {
                let allowed = routes.methods(matching: request.uri.path)
                if !allowed.isEmpty {
                    problem = APIError(
                        .methodNotAllowed, "\(request.method.rawValue) is not allowed here; use \(allowed.joined(separator: ", "))",
                        headers: ["Allow": allowed.joined(separator: ", ")])
                }
            }
            Self.log(problem, error: error, context: context)
            return Self.response(for: problem, request: request, context: context)
        }
    }

    /// Bugs and storage trouble go to the log with the error; the client only sees the problem's detail.
    static func log(_ problem: APIError, error: any Error, context: Context) {
        if problem.code == .internalError {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
        } else if problem.code == .unavailable {
            context.logger.warning("storage unavailable", metadata: ["error": "\(error)"])
        }
    }

    static func response(for problem: APIError, request: Request, context: Context) -> Response {
        let document = ProblemDocument(
            type: problem.typeURI, title: problem.code.title, status: Int(problem.status.code), detail: problem.detail,
            instance: request.uri.path, requestId: context.logger[metadataKey: "request"].map { "\($0)" },
            errors: problem.code == .validation ? problem.errors : nil)
        do {
            return try JSONBody.response(
                document, status: problem.status, contentType: ProblemDocument.mediaType, headers: problem.headers)
        } catch {
            return Response(status: problem.status)
        }
    }
}
