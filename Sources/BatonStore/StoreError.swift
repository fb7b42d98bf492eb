import BatonCore

/// Why a store operation did not happen. The gateway maps each code to one HTTP status.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The caller's leader lease is not current: a deposed leader's write changed nothing.
        case notLeader = "not_leader"
        /// The database stayed locked beyond the busy timeout, or could not be opened (→ 503).
        case unavailable
        /// A job name is taken (→ 409).
        case conflict
        /// No such job or ticket (→ 404).
        case notFound = "not_found"
        /// `If-Match` named another revision (→ 412).
        case revisionMismatch = "revision_mismatch"
        /// The database was written by a newer Baton with migrations this binary does not know.
        case schemaTooNew = "schema_too_new"
        /// The stored data could not be decoded, or the file is damaged (→ 503: an operator must look).
        case corrupt
        /// The caller's argument can never succeed, e.g. a cursor this store did not hand out (→ 400).
        case invalidArgument = "invalid_argument"
        /// The caller's task was cancelled (shutdown, a client that left): nothing failed, and a transaction that
        /// did not commit changed nothing. Not logged as an error.
        case cancelled
        /// Anything the store did not expect: a bug to report, not a condition to retry (→ 500).
        case `internal`
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
