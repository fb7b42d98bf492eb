import BatonCore
import BatonStore
import Foundation
import HTTPTypes
import Hummingbird

/// An HTTP API failure as the client sees it: an RFC 9457 problem document.
///
/// Handlers throw these (or store and validation errors, which ``init(mapping:)`` translates), and
/// ``ProblemMiddleware`` is the one place that turns any error into an `application/problem+json`
/// response, so every status, title and `type` is decided here and nowhere else.
public struct APIError: Error, Sendable, Equatable {
    public enum Code: String, Sendable, CaseIterable {
        case malformedRequest = "malformed-request"
        case unauthorized
        case forbiddenHost = "forbidden-host"
        case crossSite = "cross-site"
        case readOnly = "read-only"
        case notFound = "not-found"
        case methodNotAllowed = "method-not-allowed"
        case conflict
        case preconditionFailed = "precondition-failed"
        case contentTooLarge = "content-too-large"
        case unsupportedMediaType = "unsupported-media-type"
        case validation
        case unavailable
        case internalError = "internal-error"

        var status: HTTPResponse.Status {
            switch self {
            case .malformedRequest: .badRequest
            case .unauthorized: .unauthorized
            case .forbiddenHost: .forbidden
            case .crossSite: .forbidden
            case .readOnly: .forbidden
            case .notFound: .notFound
            case .methodNotAllowed: .methodNotAllowed
            case .conflict: .conflict
            case .preconditionFailed: .preconditionFailed
            case .contentTooLarge: .contentTooLarge
            case .unsupportedMediaType: .unsupportedMediaType
            case .validation: .unprocessableContent
            case .unavailable: .serviceUnavailable
            case .internalError: .internalServerError
            }
        }

        var title: String {
            switch self {
            case .malformedRequest: "Malformed request"
            case .unauthorized: "Missing or wrong API token"
            case .forbiddenHost: "Host not allowed"
            case .crossSite: "Cross-site request refused"
            case .readOnly: "Read-only access"
            case .notFound: "Not found"
            case .methodNotAllowed: "Method not allowed"
            case .conflict: "Conflict"
            case .preconditionFailed: "Revision mismatch"
            case .contentTooLarge: "Request body too large"
            case .unsupportedMediaType: "Unsupported media type"
            case .validation: "Invalid request"
            case .unavailable: "Storage unavailable"
            case .internalError: "Internal error"
            }
        }
    }

    public var code: Code
    public var detail: String
    /// Every invalid field, for 422.
    public var errors: [FieldIssue]
    /// Extra response headers (`Allow` for 405, `Retry-After` for 503, `WWW-Authenticate` for 401).
    public var headers: [String: String]

    public init(_ code: Code, _ detail: String, errors: [FieldIssue] = [], headers: [String: String] = [:]) {
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers
    }

    public var status: HTTPResponse.Status { code.status }

    /// The `type` URI of the problem document; stable, documented in Docs/API.md.
    public var typeURI: String { "urn:baton:problem:\(code.rawValue)" }

    static func validation(_ issues: [FieldIssue]) -> APIError {
        let fields = issues.map(\.field)
        return APIError(.validation, "\(issues.count) invalid field(s): \(fields.joined(separator: ", "))", errors: issues)
    }

    static func invalid(_ field: String, _ message: String) -> APIError {
        validation([FieldIssue(field: field, message: message)])
    }

    /// Seconds a client should wait before retrying a request that failed on storage.
    static let retryAfterSeconds = 1

    /// The single mapping from anything a handler or middleware can throw to a problem.
    init(mapping error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as SpecValidationError:
            self = .validation(error.issues)
        case let error as StoreError:
            switch error.code {
            case .conflict: self = APIError(.conflict, error.message)
            case .notFound: self = APIError(.notFound, error.message)
            case .revisionMismatch: self = APIError(.preconditionFailed, error.message)
            case .invalidArgument: self = APIError(.malformedRequest, error.message)
            case .unavailable, .notLeader, .schemaTooNew, .corrupt, .cancelled:
                // A storage condition that passes (or that an operator fixes): retryable from the client's side.
                self = APIError(
                    .unavailable, "storage failure (\(error.code.rawValue)); retry later",
                    headers: ["Retry-After": String(APIError.retryAfterSeconds)])
            case .internal:
                // A bug, not a condition to wait out: no Retry-After, and the detail stays in the log.
                self = APIError(.internalError, "the server could not complete the request")
            }
        case let error as HTTPError:
            switch error.status {
            case .contentTooLarge: self = APIError(.contentTooLarge, "request bodies are limited to 1 MiB")
            case .notFound: self = APIError(.notFound, "no such resource")
            case .unsupportedMediaType: self = APIError(.unsupportedMediaType, error.body ?? "unsupported media type")
            case .unauthorized: self = APIError(.unauthorized, error.body ?? "unauthorized")
            default:
                // Hummingbird raises HTTPError for malformed requests (bad body framing, bad parameters).
                if (400..<500).contains(error.status.code) {
                    self = APIError(.malformedRequest, error.body ?? error.status.reasonPhrase)
                } else {
                    self = APIError(.internalError, "the server could not complete the request")
                }
            }
        default:
            self = APIError(.internalError, "the server could not complete the request")
        }
    }
}

/// The RFC 9457 body.
struct ProblemDocument: Encodable {
    var type: String
    var title: String
    var status: Int
    var detail: String
    var instance: String?
    var requestId: String?
    var errors: [FieldIssue]?

    static let mediaType = "application/problem+json"
}
