/// One problem with one field of a request, named by its path (`policy.retry.maxAttempts`).
public struct FieldIssue: Sendable, Equatable, Codable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// Every problem found in a job spec, in document order. Thrown as one error so
/// a client fixes everything in one round trip (the gateway maps it to 422).
public struct SpecValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [FieldIssue]

    public init(issues: [FieldIssue]) { self.issues = issues }

    public var description: String { issues.map(\.description).joined(separator: "; ") }
}
