import BatonCore
import Foundation
import HTTPTypes
import Hummingbird

/// Reads and checks query parameters, collecting every problem so a 422 lists them all.
struct QueryReader {
    let parameters: [String: String]
    private(set) var issues: [FieldIssue] = []

    init(_ request: Request) {
        var values: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { values[String(key)] = String(value) }
        parameters = values
    }

    subscript(name: String) -> String? { parameters[name] }

    mutating func fail(_ field: String, _ message: String) {
        issues.append(FieldIssue(field: field, message: message))
    }

    mutating func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) -> Int {
        guard let text = parameters[name] else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            fail(name, "must be an integer from \(range.lowerBound) to \(range.upperBound)")
            return fallback
        }
        return value
    }

    mutating func timestamp(_ name: String) -> Timestamp? {
        guard let text = parameters[name] else { return nil }
        guard let value = Timestamp(rfc3339: text) else {
            fail(name, "must be an RFC 3339 time in years 0001–9999, such as 2026-03-08T07:30:00Z")
            return nil
        }
        return value
    }

    mutating func boolean(_ name: String) -> Bool? {
        switch parameters[name] {
        case nil: return nil
        case "true": return true
        case "false": return false
        default:
            fail(name, "must be true or false")
            return nil
        }
    }

    /// A `key:value` label filter.
    mutating func label(_ name: String) -> (key: String, value: String)? {
        guard let text = parameters[name] else { return nil }
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else {
            fail(name, "must be key:value, e.g. team:billing")
            return nil
        }
        return (String(parts[0]), String(parts[1]))
    }

    func check() throws(APIError) {
        if !issues.isEmpty { throw APIError.validation(issues) }
    }
}

/// `If-Match` for the job's revision (its ETag).
enum RevisionCondition: Equatable {
    case none
    /// `*`: the job must exist.
    case exists
    case revision(Int64)

    static func from(_ request: Request) throws(APIError) -> RevisionCondition {
        guard let header = request.headers[.ifMatch]?.trimmingCharacters(in: .whitespaces), !header.isEmpty else {
            return .none
        }
        if header == "*" { return .exists }
        // Strong ETags look like "3"; tolerate a bare 3. Any other value can never match a revision.
        var text = Substring(header)
        if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = text.dropFirst().dropLast() }
        guard let revision = Int64(text) else {
            throw APIError(.preconditionFailed, "If-Match \(header) does not name a revision (send the ETag, e.g. \"3\")")
        }
        return .revision(revision)
    }

    var revision: Int64? {
        if case .revision(let value) = self { return value }
        return nil
    }
}

enum ETag {
    static func header(_ revision: Int64) -> String { "\"\(revision)\"" }
}

extension Request {
    /// The request body parsed as JSON: 400 when it is not JSON at all (validation is 422).
    func jsonBody() async throws -> JSONValue {
        let data = try await JSONBody.read(self)
        guard !data.isEmpty else { throw APIError(.malformedRequest, "the request body is empty; send a JSON document") }
        do {
            return try JSONValue(parsing: data)
        } catch {
            throw APIError(.malformedRequest, "the request body is not valid JSON (byte \(error.offset): \(error.reason))")
        }
    }
}
