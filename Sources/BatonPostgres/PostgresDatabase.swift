import BatonCore
import BatonStore
import Logging
import PostgresNIO
import _ConnectionPoolModule

/// The PostgreSQL database every store of one process shares: the client's connection pool, and how a statement or a
/// transaction runs on it (retries, error mapping), in one place.
///
/// Isolation is PostgreSQL's default, READ COMMITTED, with explicit row locks where SQLite's single writer gave
/// order for free: each fenced transaction first locks the lease row `FOR SHARE` (so a takeover waits for it, and it
/// waits for a takeover), the tick and triggers lock the job row they write tickets for, completions and expiry lock
/// the ticket rows they end. A conditional UPDATE re-checks its WHERE on the newest row version after a lock wait,
/// so two claims of one ticket can never both match.
package struct PostgresDatabase: Sendable {
    package let client: PostgresClient
    package let logger: Logger
    /// This process's caches of what never changes per job revision, shared by every store on this database.
    let caches: StoreCaches

    package init(client: PostgresClient, logger: Logger, caches: StoreCaches = StoreCaches()) {
        self.client = client
        self.logger = logger
        self.caches = caches
    }

    /// One transaction, run again (a few times, with backoff) when PostgreSQL asks for it (serialization failure,
    /// deadlock) or when the connection failed before COMMIT was sent, which means nothing was applied. A connection
    /// lost during COMMIT is not retried: the transaction may have committed, so the caller hears `.unavailable`.
    package func transaction<T: Sendable>(_ operation: String, _ body: (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        try await retrying(operation) {
            try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    /// A fenced transaction: ``LeaderFence/lock(_:now:)`` first, so a deposed leader's write changes nothing.
    func fenced<T: Sendable>(
        _ fence: LeaderFence, now: Timestamp, _ operation: String, _ body: (PostgresConnection) async throws -> T
    ) async throws(StoreError) -> T {
        try await transaction(operation) { connection in
            try await fence.lock(connection, now: now, logger: logger)
            return try await body(connection)
        }
    }

    /// Reads outside a transaction (each statement sees its own snapshot), retried like a transaction.
    package func read<T: Sendable>(_ operation: String, _ body: (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        try await retrying(operation) {
            try await client.withConnection { connection in try await body(connection) }
        }
    }

    /// Backoff between attempts: 4 tries in about 0.7 s for a lost connection (a PostgreSQL restart or failover
    /// takes longer, and the caller's own loop retries after that), 6 quick ones for a serialization failure.
    private func retrying<T>(_ operation: String, _ attempt: () async throws -> T) async throws(StoreError) -> T {
        var failures = 0
        while true {
            do {
                return try await attempt()
            } catch {
                let failure = PostgresFailure(error, operation: operation)
                guard let delay = failure.retryDelay(after: failures) else { throw failure.error }
                failures += 1
                logger.debug("retrying", metadata: ["operation": "\(operation)", "error": "\(failure.error)"])
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    throw StoreError(.cancelled, "\(operation): cancelled")
                }
            }
        }
    }
}

/// An error from postgres-nio, classified by what the caller can do (the same codes as the SQLite store's).
struct PostgresFailure {
    enum Retry: Equatable {
        /// Run the whole transaction again: PostgreSQL rolled it back (40001 serialization, 40P01 deadlock).
        case transaction
        /// Nothing was applied, but the server or the connection is gone: try again shortly.
        case connection
        case never
    }

    var retry: Retry
    var error: StoreError

    init(_ error: any Error, operation: String) {
        guard let transaction = error as? PostgresTransactionError else {
            self = Self.classify(error, operation: operation)
            return
        }
        if let commit = transaction.commitError {
            self = Self.classify(commit, operation: operation)
            // COMMIT may have been applied before the connection went: running it again could apply it twice.
            if retry == .connection { retry = .never }
        } else if let failure = transaction.closureError ?? transaction.beginError {
            self = Self.classify(failure, operation: operation)
        } else {
            self = PostgresFailure(retry: .never, error: StoreError(.internal, "\(operation): \(String(reflecting: error))"))
        }
    }

    private init(retry: Retry, error: StoreError) {
        self.retry = retry
        self.error = error
    }

    func retryDelay(after failures: Int) -> Duration? {
        switch retry {
        case .transaction: failures < 6 ? .milliseconds(Int64.random(in: 1...10) << failures) : nil
        case .connection: failures < 3 ? .milliseconds(50 << (2 * failures)) : nil
        case .never: nil
        }
    }

    private static func classify(_ error: any Error, operation: String) -> PostgresFailure {
        if let storeError = error as? StoreError { return PostgresFailure(retry: .never, error: storeError) }
        if error is CancellationError { return PostgresFailure(retry: .never, error: StoreError(.cancelled, "\(operation): cancelled")) }
        if let pool = error as? ConnectionPoolError {
            let code: StoreError.Code = pool == .requestCancelled ? .cancelled : .unavailable
            return PostgresFailure(retry: .never, error: StoreError(code, "\(operation): connection pool: \(pool)"))
        }
        guard let psql = error as? PSQLError else {
            return PostgresFailure(retry: .never, error: StoreError(.internal, "\(operation): \(String(reflecting: error))"))
        }
        switch psql.code {
        case .server:
            return server(psql, operation: operation)
        case .queryCancelled:
            return PostgresFailure(retry: .never, error: StoreError(.cancelled, "\(operation): cancelled"))
        case .connectionError, .serverClosedConnection, .uncleanShutdown:
            return PostgresFailure(retry: .connection, error: StoreError(.unavailable, "\(operation): connection lost (\(psql.code))"))
        case .clientClosedConnection, .poolClosed:
            return PostgresFailure(retry: .never, error: StoreError(.unavailable, "\(operation): the connection pool is closed"))
        case .sslUnsupported, .failedToAddSSLHandler, .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
            return PostgresFailure(retry: .never, error: StoreError(.unavailable, "\(operation): cannot connect (\(psql.code))"))
        default:
            return PostgresFailure(retry: .never, error: StoreError(.internal, "\(operation): \(psql.code)"))
        }
    }

    /// By SQLSTATE (PostgreSQL's Appendix A). The server's message names no value the caller did not send.
    private static func server(_ psql: PSQLError, operation: String) -> PostgresFailure {
        let state = psql.serverInfo?[.sqlState] ?? ""
        let message = "\(operation): \(psql.serverInfo?[.message] ?? "server error") (SQLSTATE \(state))"
        switch state {
        case "40001", "40P01":
            return PostgresFailure(retry: .transaction, error: StoreError(.unavailable, message))
        case "23505", "23503":
            // A unique key taken by a concurrent writer, or a row that is gone: the request conflicts with the data.
            return PostgresFailure(retry: .never, error: StoreError(.conflict, message))
        case "57014":
            return PostgresFailure(retry: .never, error: StoreError(.cancelled, message))
        case "53300", "57P01", "57P02", "57P03":
            // Too many connections, or the server is shutting down or starting: another connection may do.
            return PostgresFailure(retry: .connection, error: StoreError(.unavailable, message))
        case "53100", "53200", "25006":
            return PostgresFailure(retry: .never, error: StoreError(.unavailable, message))
        case "XX001", "XX002":
            return PostgresFailure(retry: .never, error: StoreError(.corrupt, message))
        default:
            if state.hasPrefix("08") { return PostgresFailure(retry: .connection, error: StoreError(.unavailable, message)) }
            return PostgresFailure(retry: .never, error: StoreError(.internal, message))
        }
    }
}

extension LeaderFence {
    /// First statement of every fenced transaction: the lease row, locked `FOR SHARE` when this fence is current,
    /// so a takeover (which updates that row) waits until this transaction ends, and none can have happened since
    /// it started. No row: a deposed or lapsed leader, whose write stops here and changes nothing.
    func lock(_ connection: PostgresConnection, now: Timestamp, logger: Logger) async throws {
        let rows = try await connection.query(
            """
            SELECT epoch FROM leader_lease
            WHERE name = 'scheduler' AND holder = \(holder) AND epoch = \(epoch) AND lease_expires_at > \(now.milliseconds)
            FOR SHARE
            """, logger: logger
        ).collect()
        guard !rows.isEmpty else { throw StoreError(.notLeader, "lease \(self) is not current") }
    }
}
