import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Accepts the caller's `X-Request-Id` (1–128 visible ASCII characters) or makes one, echoes it on the
/// response and puts it in the log metadata as `request`, so one request can be followed in the logs.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    static var headerName: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = request.headers[Self.headerName].flatMap(Self.acceptable) ?? UUID().uuidString.lowercased()
        var context = context
        context.logger[metadataKey: "request"] = "\(id)"
        var response = try await next(request, context)
        response.headers[Self.headerName] = id
        return response
    }

    static func acceptable(_ value: String) -> String? {
        let bytes = value.utf8
        guard (1...128).contains(bytes.count), bytes.allSatisfy({ (0x21...0x7e).contains($0) }) else { return nil }
        return value
    }
}
