/// Moving a database's user state from one backend to another (`baton migrate --from sqlite:PATH --to postgres://…`),
/// in a shape neither backend owns: one backend reads its tables out as ``TransferValue`` rows in the column order
/// given here (a ``TransferSource``), the other writes them. Neither store module knows the other; only the `baton`
/// command holds both.
///
/// What is copied is every table that carries user state: jobs (with their watermarks, parking and pause state),
/// job revisions, tickets (claimed ones as they are), their attempts, and idempotency keys. Not copied: the leader
/// lease (only its epoch is carried, so the fencing token keeps growing) and the scheduler and executor node rows,
/// which are heartbeats the running processes rewrite within seconds.
public enum TransferTable: String, Sendable, CaseIterable {
    // In copy order: attempts refer to tickets by their row key.
    case job
    case jobRevision = "job_revision"
    case ticket
    case attempt
    case idempotencyKey = "idempotency_key"

    /// What a column holds. Times are integer milliseconds in both backends, so they are `.integer` too.
    public enum Kind: Sendable {
        case integer, boolean, text, blob
    }

    public struct Column: Sendable, Equatable {
        public var name: String
        public var kind: Kind
    }

    /// Every column of the table as of the current schema (SQLite's `v3-*` migrations, PostgreSQL's `v1-schema`), in
    /// the order rows carry their values. A schema change that adds a column must add it here, or the copy drops it:
    /// the SQLite and PostgreSQL tests compare this list with each backend's table.
    public var columns: [Column] {
        func c(_ name: String, _ kind: Kind) -> Column { Column(name: name, kind: kind) }
        switch self {
        case .job:
            return [
                c("seq", .integer), c("id", .text), c("name", .text), c("revision", .integer), c("spec", .text),
                c("state", .text), c("queue", .text), c("created_at", .integer), c("updated_at", .integer),
                c("deleted_at", .integer), c("watermark", .integer), c("next_fire_at", .integer), c("due_at", .integer),
                c("last_ticket", .blob), c("last_success_at", .integer), c("last_failure_at", .integer),
                c("catchup_unrecorded", .integer), c("parked_revision", .integer), c("parked_reason", .text),
            ]
        case .jobRevision:
            return [c("job_id", .text), c("revision", .integer), c("spec", .text), c("created_at", .integer)]
        case .ticket:
            return [
                c("seq", .integer), c("id", .blob), c("job_id", .text), c("job_name", .text), c("revision", .integer),
                c("queue", .text), c("slot", .integer), c("manual", .boolean), c("idempotency_key", .text),
                c("state", .text), c("reason", .text), c("detail", .text), c("epoch", .integer), c("not_before", .integer),
                c("deadline", .integer), c("deadline_if_newer", .boolean), c("serialized", .boolean),
                c("attempt", .integer), c("max_attempts", .integer), c("claim_token", .blob), c("executor", .text),
                c("lease_expires_at", .integer), c("cancel_requested", .boolean), c("created_at", .integer),
                c("started_at", .integer), c("finished_at", .integer),
            ]
        case .attempt:
            return [
                c("ticket_seq", .integer), c("number", .integer), c("executor", .text), c("started_at", .integer),
                c("finished_at", .integer), c("outcome", .text), c("status", .integer), c("output", .text),
            ]
        case .idempotencyKey:
            return [c("job_id", .text), c("key", .text), c("ticket_id", .blob), c("created_at", .integer)]
        }
    }

    /// The primary key's columns (the leading ones of ``columns``): rows are read in this order, a page at a time.
    public var keyColumnCount: Int {
        switch self {
        case .job, .ticket: 1
        case .jobRevision, .attempt, .idempotencyKey: 2
        }
    }

    /// The table's `bigint` identity column, whose sequence must move past the copied row keys.
    public var identityColumn: String? {
        switch self {
        case .job, .ticket: "seq"
        case .jobRevision, .attempt, .idempotencyKey: nil
        }
    }
}

/// One column's value in a transferred row.
public enum TransferValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case boolean(Bool)
    case text(String)
    case blob([UInt8])
}

/// A backend read out for a transfer: every row of each table, a page at a time in key order, all from one
/// consistent snapshot.
public protocol TransferSource: Sendable {
    /// Up to `limit` rows of `table` in primary-key order, starting after the row whose key (its first
    /// ``TransferTable/keyColumnCount`` values) is `key`; nil: from the first row. Values follow
    /// ``TransferTable/columns``, each of its column's kind or `.null`.
    func rows(of table: TransferTable, after key: [TransferValue]?, limit: Int) async throws(StoreError) -> [[TransferValue]]
}

/// Why a transfer did not happen. Every code but `storage` is a refusal made before anything was written.
public struct TransferError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The source database does not exist.
        case sourceMissing
        /// The source is not at the schema this build knows (older: migrate it first; newer: use that build).
        case sourceNotCurrent
        /// A scheduler still holds the source's leader lease.
        case sourceInUse
        /// The target already holds jobs or tickets.
        case targetNotEmpty
        /// Reading or writing failed (the target is left as it was).
        case storage
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public init(_ error: StoreError) {
        self.init(.storage, error.message)
    }

    public var description: String { message }
}
