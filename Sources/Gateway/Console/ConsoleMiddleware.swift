import HTTPTypes
import Hummingbird

/// For the console's paths only: every failure below becomes an HTML error page instead of problem+json, and
/// every response (pages, redirects, the stylesheet, errors) gets ``ConsoleHTTP/secure(_:)``'s headers.
/// It sits inside ``ProblemMiddleware`` and outside the Host and Origin checks, so their refusals are pages too.
struct ConsoleMiddleware<Context: RequestContext>: RouterMiddleware {
    let pages: ConsolePages

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard ConsolePaths.contains(request.uri.path) else { return try await next(request, context) }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let problem = APIError(mapping: error)
            ProblemMiddleware<Context>.log(problem, error: error, context: context)
            response = pages.error(problem)
            for (name, value) in problem.headers where name != "WWW-Authenticate" {
                if let field = HTTPField.Name(name) { response.headers[field] = value }
            }
        }
        ConsoleHTTP.secure(&response.headers)
        return response
    }
}
