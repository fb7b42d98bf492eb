import BatonCore
import PostgresNIO

/// How one process uses PostgreSQL: the size of its pool, the server-side bounds on every statement and every open
/// transaction, and how long start-up waits for the server (Docs/Configuration.md, "PostgreSQL connections").
public struct PostgresConnectionSettings: Sendable, Equatable {
    /// The most connections this process's pool opens (`BATON_DB_POOL`). Connections are opened on demand and
    /// closed after 60 s idle, so this is a ceiling, not a reservation.
    public var maximumConnections: Int
    /// The server cancels any statement that runs longer (`statement_timeout`, `BATON_DB_STATEMENT_TIMEOUT`): a
    /// lock wait or a runaway query ends as `StoreError.unavailable`, which every caller already retries, instead
    /// of holding a connection and the caller forever. Migrations lift it for their own transaction.
    public var statementTimeout: TimeSpan
    /// The server ends a session that sits inside a transaction without sending anything for longer
    /// (`idle_in_transaction_session_timeout`). Baton never waits on anything but the database inside a
    /// transaction, so only a frozen (SIGSTOPped, swapped-out) or cut-off process trips it; its row locks, the lease
    /// row's `FOR SHARE` included, are then released within this bound, which is what bounds how long a frozen
    /// leader can delay a takeover (Docs/Operations.md, "PostgreSQL connections").
    public var idleInTransactionTimeout: TimeSpan
    /// How long start-up waits for the first connection before the role exits 2 (`BATON_DB_CONNECT_TIMEOUT`).
    public var startupWait: TimeSpan
    /// The client's own bound on one store operation (a read or a whole transaction) once it holds a connection:
    /// past it, this process closes the connection, which fails whatever the operation waits for. The server
    /// bounds each statement and each idle gap, but not a session it ended without the client noticing:
    /// postgres-nio waits forever for an answer on a leased connection whose session the server terminated while
    /// it sat idle in a transaction (`ConnectionTimeoutTests`), and a network partition sends no FIN. Baton's
    /// operations are a few statements of milliseconds, so one that outlives twice the statement timeout plus 5 s
    /// is stuck, not slow. Default: 2 × ``statementTimeout`` + 5 s.
    public var operationLimit: TimeSpan

    public static let defaultStatementTimeout = TimeSpan.seconds(30)
    public static let defaultIdleInTransactionTimeout = TimeSpan.seconds(5)
    public static let defaultStartupWait = TimeSpan.seconds(30)

    public init(
        maximumConnections: Int = 10, statementTimeout: TimeSpan = Self.defaultStatementTimeout,
        idleInTransactionTimeout: TimeSpan = Self.defaultIdleInTransactionTimeout, startupWait: TimeSpan = Self.defaultStartupWait,
        operationLimit: TimeSpan? = nil
    ) {
        self.maximumConnections = maximumConnections
        self.statementTimeout = statementTimeout
        self.idleInTransactionTimeout = idleInTransactionTimeout
        self.startupWait = startupWait
        self.operationLimit = operationLimit ?? statementTimeout * 2 + .seconds(5)
    }

    /// Sent in every connection's startup message, so each connection has them from its first statement without a
    /// `SET` round trip, and a connection the pool opens again after a restart has them too. (PgBouncer in
    /// transaction mode refuses unknown startup parameters: Docs/Operations.md, "PgBouncer".)
    public var startupParameters: [(String, String)] {
        [
            ("statement_timeout", "\(statementTimeout.milliseconds)ms"),
            ("idle_in_transaction_session_timeout", "\(idleInTransactionTimeout.milliseconds)ms"),
        ]
    }
}

extension PostgresClient.Configuration {
    /// This process's pool size and the server-side timeouts of every connection.
    public mutating func apply(_ settings: PostgresConnectionSettings) {
        options.maximumConnections = settings.maximumConnections
        options.additionalStartupParameters = settings.startupParameters
    }
}
