import BatonCore
import BatonStore
import PostgresNIO

/// The schema, as named append-only migrations like the SQLite ones: a shipped migration is never edited, and every
/// change is additive so old and new binaries can share a database during a rolling upgrade (CONTRACT §9a).
///
/// Design notes (CONTRACT §10, issue 14): tickets keep a `bigint` row key (`seq`, an identity column) and store their
/// hash as a 32-byte `bytea` under a unique index; times are `bigint` milliseconds since the Unix epoch, as in
/// SQLite; the pending/retrying queue and the running tickets have partial indexes so the hot queries touch only
/// live rows; text keys that are listed in order compare bytewise (`COLLATE "C"`), as SQLite's do, so pages and
/// cursors agree whatever the database's locale. The first migration is SQLite's schema as of its `v3-*` ones.
enum PostgresMigrations {
    struct Migration {
        var id: String
        var sql: [String]
    }

    /// Every migration this build knows, in order.
    static let all: [Migration] = [
        Migration(
            id: "v1-schema",
            sql: [
                """
                CREATE TABLE job (
                    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    id text COLLATE "C" NOT NULL UNIQUE,
                    name text COLLATE "C" NOT NULL,
                    revision bigint NOT NULL,
                    spec text NOT NULL,
                    state text NOT NULL,
                    queue text NOT NULL,
                    created_at bigint NOT NULL,
                    updated_at bigint NOT NULL,
                    deleted_at bigint,
                    watermark bigint NOT NULL,
                    next_fire_at bigint,
                    due_at bigint,
                    last_ticket bytea,
                    last_success_at bigint,
                    last_failure_at bigint,
                    catchup_unrecorded bigint NOT NULL DEFAULT 0,
                    parked_revision bigint,
                    parked_reason text
                )
                """,
                "CREATE UNIQUE INDEX job_live_name ON job (name) WHERE deleted_at IS NULL",
                "CREATE INDEX job_due ON job (due_at) WHERE deleted_at IS NULL AND due_at IS NOT NULL",
                "CREATE INDEX job_parked ON job (parked_revision) WHERE parked_revision IS NOT NULL",
                """
                CREATE TABLE job_revision (
                    job_id text COLLATE "C" NOT NULL,
                    revision bigint NOT NULL,
                    spec text NOT NULL,
                    created_at bigint NOT NULL,
                    PRIMARY KEY (job_id, revision)
                )
                """,
                """
                CREATE TABLE ticket (
                    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    id bytea NOT NULL CHECK (octet_length(id) = 32),
                    job_id text NOT NULL,
                    job_name text NOT NULL,
                    revision bigint NOT NULL,
                    queue text NOT NULL,
                    slot bigint NOT NULL,
                    manual boolean NOT NULL DEFAULT FALSE,
                    idempotency_key text,
                    state text NOT NULL,
                    reason text,
                    detail text,
                    epoch bigint,
                    not_before bigint NOT NULL,
                    deadline bigint,
                    deadline_if_newer boolean NOT NULL DEFAULT FALSE,
                    serialized boolean NOT NULL DEFAULT FALSE,
                    attempt bigint NOT NULL DEFAULT 0,
                    max_attempts bigint NOT NULL,
                    claim_token bytea,
                    executor text,
                    lease_expires_at bigint,
                    cancel_requested boolean NOT NULL DEFAULT FALSE,
                    created_at bigint NOT NULL,
                    started_at bigint,
                    finished_at bigint
                )
                """,
                "CREATE UNIQUE INDEX ticket_id ON ticket (id)",
                "CREATE INDEX ticket_due ON ticket (not_before, seq) WHERE \(TicketPredicate.claimable)",
                "CREATE INDEX ticket_running ON ticket (lease_expires_at) WHERE \(TicketPredicate.running)",
                "CREATE INDEX ticket_deadline ON ticket (deadline) WHERE \(TicketPredicate.misfirable)",
                "CREATE INDEX ticket_open_job ON ticket (job_id, seq) WHERE \(TicketPredicate.unfinished)",
                "CREATE INDEX ticket_job_slot ON ticket (job_id, slot)",
                "CREATE INDEX ticket_slot ON ticket (slot)",
                "CREATE INDEX ticket_finished ON ticket (finished_at) WHERE \(TicketPredicate.finished)",
                "CREATE INDEX ticket_job_name ON ticket (job_name, seq)",
                """
                CREATE TABLE attempt (
                    ticket_seq bigint NOT NULL REFERENCES ticket (seq) ON DELETE CASCADE,
                    number bigint NOT NULL,
                    executor text NOT NULL,
                    started_at bigint NOT NULL,
                    finished_at bigint,
                    outcome text,
                    status bigint,
                    output text,
                    PRIMARY KEY (ticket_seq, number)
                )
                """,
                """
                CREATE TABLE idempotency_key (
                    job_id text NOT NULL,
                    key text NOT NULL,
                    ticket_id bytea NOT NULL,
                    created_at bigint NOT NULL,
                    PRIMARY KEY (job_id, key)
                )
                """,
                "CREATE INDEX idempotency_key_created ON idempotency_key (created_at)",
                """
                CREATE TABLE leader_lease (
                    name text PRIMARY KEY CHECK (name = 'scheduler'),
                    holder text NOT NULL,
                    epoch bigint NOT NULL,
                    lease_expires_at bigint NOT NULL,
                    heartbeat_at bigint NOT NULL,
                    host text NOT NULL,
                    pid bigint NOT NULL,
                    endpoint text NOT NULL
                )
                """,
                """
                CREATE TABLE scheduler_node (
                    id text COLLATE "C" PRIMARY KEY,
                    host text NOT NULL,
                    pid bigint NOT NULL,
                    endpoint text NOT NULL,
                    started_at bigint NOT NULL,
                    last_seen bigint NOT NULL,
                    tick_lag_ms bigint
                )
                """,
                """
                CREATE TABLE executor_node (
                    id text COLLATE "C" PRIMARY KEY,
                    host text NOT NULL,
                    pid bigint NOT NULL,
                    capacity bigint NOT NULL,
                    in_flight bigint NOT NULL DEFAULT 0,
                    queues text NOT NULL,
                    version text NOT NULL,
                    started_at bigint NOT NULL,
                    last_seen bigint NOT NULL,
                    gone_at bigint
                )
                """,
            ])
    ]

    /// The key of the transaction-scoped advisory lock every migrating process takes: ASCII "baton-mg".
    static let lockKey: Int64 = 0x6261_746F_6E2D_6D67

    /// Creates or upgrades the schema, in one transaction under `pg_advisory_xact_lock` (the transaction-scoped form
    /// of `pg_advisory_lock`: released by COMMIT or ROLLBACK, and by the server if this process dies), so when many
    /// processes start at once exactly one applies what is missing and the others then find it applied. Migrations
    /// recorded by a newer build are tolerated, as in SQLite: every change is additive.
    static func migrate(_ database: PostgresDatabase) async throws(StoreError) {
        try await database.transaction("migrate", unlimited: true) { connection in
            // Waiting for another process's migration, or building an index on a large table, may take longer than
            // BATON_DB_STATEMENT_TIMEOUT allows one statement: this transaction alone runs without it (and without
            // the client's operation limit).
            try await connection.query("SET LOCAL statement_timeout = 0", logger: database.logger)
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: database.logger).count()
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS baton_migration (id text PRIMARY KEY, applied_at bigint NOT NULL)",
                logger: database.logger)
            let applied = try await appliedIDs(connection, logger: database.logger)
            for migration in all where !applied.contains(migration.id) {
                for statement in migration.sql {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: database.logger)
                }
                try await connection.query(
                    """
                    INSERT INTO baton_migration (id, applied_at)
                    VALUES (\(migration.id), (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                    """, logger: database.logger)
            }
        }
    }

    static func appliedIDs(_ connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        Set(try await connection.query("SELECT id FROM baton_migration", logger: logger).rows().map { try $0.value("id", String.self) })
    }

    /// Readiness (CONTRACT §9a): the database answers and every migration this build knows is applied.
    static func isCurrent(_ database: PostgresDatabase) async -> Bool {
        do {
            let applied = try await database.read("readiness") { connection in
                let exists = try await connection.query("SELECT to_regclass('baton_migration') IS NOT NULL AS present", logger: database.logger)
                    .rows().first?.value("present", Bool.self) ?? false
                return exists ? try await appliedIDs(connection, logger: database.logger) : []
            }
            return Set(all.map(\.id)).isSubset(of: applied)
        } catch {
            return false
        }
    }
}
