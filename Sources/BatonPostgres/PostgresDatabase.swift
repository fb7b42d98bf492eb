import BatonCore
import BatonStore
import Logging
import PostgresNIO
import Synchronization
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

    /// ``PostgresConnectionSettings/operationLimit``: past it, an operation's connection is closed.
    let operationLimit: Duration

    package init(client: PostgresClient, logger: Logger, operationLimit: Duration = .seconds(65), caches: StoreCaches = StoreCaches()) {
        self.client = client
        self.logger = logger
        self.operationLimit = operationLimit
        self.caches = caches
    }

    /// One transaction, run again (a few times, with backoff) when PostgreSQL asks for it (serialization failure,
    /// deadlock) or when the connection failed before COMMIT was sent, which means nothing was applied. A connection
    /// lost during COMMIT is not retried: the transaction may have committed, so the caller hears `.unavailable`.
    /// `unlimited`: exempt from ``operationLimit`` (migrations, which also lift `statement_timeout`: an index build on a
    /// large table may take minutes).
    package func transaction<T: Sendable>(
        _ operation: String, unlimited: Bool = false, _ body: (PostgresConnection) async throws -> T
    ) async throws(StoreError) -> T {
        try await retrying(operation) {
            try await leased(operation, limit: unlimited ? nil : operationLimit) { connection in
                try await Self.inTransaction(connection, logger: logger, body)
            }
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
            try await leased(operation, limit: operationLimit) { connection in try await body(connection) }
        }
    }

    /// BEGIN, `body`, COMMIT, as postgres-nio's `withTransaction` does, except on a connection that has closed: no
    /// statement is sent there, ROLLBACK included (the server rolled the transaction back with the session).
    /// Why by hand: postgres-nio 1.33 writes a query for a closed connection into the void (`channel.write(…,
    /// promise: nil)` on a closed channel), so that query never answers; its `withTransaction` sends ROLLBACK after
    /// any failure, and a connection lost in the middle of a transaction (a PostgreSQL restart) left the operation
    /// waiting forever. A connection that closes between two statements of `body` still hangs that body; the
    /// operation limit cannot close it twice, and it is recorded in Docs/Operations.md.
    static func inTransaction<T>(
        _ connection: PostgresConnection, logger: Logger, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        guard !connection.isClosed else { throw TransactionFailure.begin(ConnectionClosed()) }
        do {
            try await connection.query("BEGIN", logger: logger)
        } catch {
            throw TransactionFailure.begin(error)
        }
        let value: T
        do {
            value = try await body(connection)
        } catch {
            if !connection.isClosed { _ = try? await connection.query("ROLLBACK", logger: logger) }
            throw TransactionFailure.body(error)
        }
        // Closed before COMMIT was sent: nothing was committed.
        guard !connection.isClosed else { throw TransactionFailure.body(ConnectionClosed()) }
        do {
            try await connection.query("COMMIT", logger: logger)
        } catch {
            throw TransactionFailure.commit(error)
        }
        return value
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

    /// How long an operation waits for a connection from the pool before it fails with `.unavailable`.
    ///
    /// Why a bound: while PostgreSQL is down, the pool queues every request and keeps reconnecting, and fails the
    /// queue only when its circuit breaker trips after 60 s; a gateway request would hang that long instead of
    /// answering 503, and a leader's lease renewal would stall instead of failing and being retried. 3 s is longer
    /// than any wait for a busy pool in normal operation (every Baton statement takes milliseconds) and than the
    /// pool's reconnect interval in the first seconds after a restart, so an operation that gives up here finds
    /// the database down or the pool far too small (BATON_DB_POOL).
    static let connectionWait = Duration.seconds(3)

    /// `body` on a connection leased from the pool within ``connectionWait``, else `.unavailable`; a body still
    /// running `limit` later (``operationLimit``, nil for none) has its connection closed, which fails it (`.unavailable`). The lease and
    /// the watch race in a task group; whichever moves ``LeaseRace`` first wins, so `body` never starts once the
    /// caller has been told it failed (nothing is written behind an error the caller retries).
    private func leased<T: Sendable>(
        _ operation: String, limit: Duration?, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withoutActuallyEscaping(body) { body in
            let work = LeaseRace.Body(body)
            let race = LeaseRace()
            return try await withThrowingTaskGroup(of: LeaseRace.Outcome<T>.self) { group in
                group.addTask {
                    .value(
                        try await client.withConnection { connection in
                            guard race.leased(connection) else { throw CancellationError() }
                            return try await work.run(connection)
                        })
                }
                group.addTask { [logger] in
                    do {
                        try await Task.sleep(for: Self.connectionWait)
                    } catch {
                        return .watchEnded  // the operation finished first
                    }
                    guard let connection = race.watch() else { return .timedOut }
                    guard let limit else { return .watchEnded }
                    do {
                        try await Task.sleep(for: limit)
                    } catch {
                        return .watchEnded
                    }
                    logger.warning("closing a connection stuck in an operation", metadata: ["operation": "\(operation)", "limit": "\(limit)"])
                    try? await connection.close()
                    return .watchEnded
                }
                while let outcome = try await group.next() {
                    switch outcome {
                    case .value(let value):
                        group.cancelAll()
                        return value
                    case .timedOut:
                        group.cancelAll()
                        if Task.isCancelled { throw CancellationError() }  // the caller left: not an outage
                        throw StoreError(
                            .unavailable,
                            "\(operation): no database connection within \(Self.connectionWait) (PostgreSQL unreachable, or every pooled connection busy: BATON_DB_POOL)"
                        )
                    case .watchEnded:
                        continue  // the body ends on its own, or fails on its closed connection
                    }
                }
                throw CancellationError()
            }
        }
    }
}

/// Who won between a pool lease and its timer: once one side has moved, the other stands down.
final class LeaseRace: Sendable {
    enum Outcome<T: Sendable>: Sendable {
        case value(T)
        /// No connection within ``PostgresDatabase/connectionWait``.
        case timedOut
        /// The watch is over (the operation ended, or its connection was closed): wait for the body.
        case watchEnded
    }

    private enum State {
        case waiting
        case leased(PostgresConnection)
        case timedOut
    }

    private let state = Mutex(State.waiting)

    /// The lease arrived: true if the timer has not fired first (then `body` may run on `connection`).
    func leased(_ connection: PostgresConnection) -> Bool {
        state.withLock { state in
            guard case .waiting = state else { return false }
            state = .leased(connection)
            return true
        }
    }

    /// The connection wait is over: the leased connection to watch, or nil if none came first (then the caller
    /// hears `.unavailable`, and a lease arriving later is handed back unused).
    func watch() -> PostgresConnection? {
        state.withLock { state in
            switch state {
            case .leased(let connection):
                return connection
            case .waiting, .timedOut:
                state = .timedOut
                return nil
            }
        }
    }

    /// A store's transaction body, carried into the task group's child task.
    ///
    /// Unchecked because the body is a non-escaping, non-`@Sendable` closure (every store's transaction body),
    /// turned escapable by `withoutActuallyEscaping` only for the task group in ``PostgresDatabase/leased``. Sound:
    /// the group awaits its children before returning, so the closure never outlives that call, and exactly one
    /// child task calls it, once, while the calling task only waits, so it never runs concurrently with itself or
    /// with the caller.
    struct Body<T>: @unchecked Sendable {  // safe: called once, by one child task, inside a group that awaits it (above)
        let run: (PostgresConnection) async throws -> T
        init(_ run: @escaping (PostgresConnection) async throws -> T) { self.run = run }
    }
}

/// Where a transaction failed: before it began, in its body (nothing committed), or during COMMIT (it may have).
enum TransactionFailure: Error {
    case begin(any Error)
    case body(any Error)
    case commit(any Error)
}

/// The connection was found closed before a statement was sent: the server or the network ended it.
struct ConnectionClosed: Error {}

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
        guard let transaction = error as? TransactionFailure else {
            self = Self.classify(error, operation: operation)
            return
        }
        switch transaction {
        case .commit(let commit):
            self = Self.classify(commit, operation: operation)
            // COMMIT may have been applied before the connection went: running it again could apply it twice.
            if retry == .connection { retry = .never }
        case .begin(let failure), .body(let failure):
            self = Self.classify(failure, operation: operation)
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
        if error is ConnectionClosed {
            return PostgresFailure(retry: .connection, error: StoreError(.unavailable, "\(operation): connection lost (closed)"))
        }
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
            // query_canceled, from the server: postgres-nio never sends a cancel request (a cancelled task fails
            // its query on the client, `PSQLError.Code.queryCancelled` above), so this is `statement_timeout`
            // (BATON_DB_STATEMENT_TIMEOUT) or an operator's `pg_cancel_backend`. Either way the statement was
            // rolled back and the database is too slow or too locked right now: `.unavailable`, which callers retry
            // on their own cadence. Not retried here: a statement that just took the whole timeout would most
            // likely take it again, holding the caller for several timeouts.
            let cause = (psql.serverInfo?[.message] ?? "").contains("statement timeout") ? "statement timeout" : "cancelled by the server"
            return PostgresFailure(
                retry: .never, error: StoreError(.unavailable, "\(operation): \(cause) (SQLSTATE 57014, BATON_DB_STATEMENT_TIMEOUT)"))
        case "53300", "57P01", "57P02", "57P03":
            // Too many connections, or the server is shutting down or starting: another connection may do.
            return PostgresFailure(retry: .connection, error: StoreError(.unavailable, message))
        case "25P03", "57P05":
            // The server ended this session for idling inside a transaction (or idling at all): the transaction was
            // rolled back with the session, so running it again on another connection is safe.
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
