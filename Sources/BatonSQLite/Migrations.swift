import GRDB

/// The schema, as named append-only migrations: a shipped migration is never edited,
/// and every change is additive so old and new binaries can share a file during a
/// rolling upgrade (CONTRACT §9a "Readiness").
///
/// Design notes (CONTRACT §10): tickets keep an integer row key (`seq`) and store their
/// hash as a 32-byte BLOB under a unique index; times are integer milliseconds; the
/// pending and running queues have partial indexes so the hot queries touch only live rows.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-schema") { db in
            try db.execute(
                sql: """
                    CREATE TABLE job (
                        seq INTEGER PRIMARY KEY,
                        id TEXT NOT NULL UNIQUE,
                        name TEXT NOT NULL,
                        revision INTEGER NOT NULL,
                        spec TEXT NOT NULL,
                        state TEXT NOT NULL,
                        queue TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        deleted_at INTEGER,
                        -- the last slot this job has ticketed or skipped; no slot at or before it is ever ticketed again
                        watermark INTEGER NOT NULL,
                        -- the next slot after the watermark (NULL: none, or paused)
                        next_fire_at INTEGER,
                        -- when the scheduler should look at this job again (usually next_fire_at)
                        due_at INTEGER,
                        last_ticket BLOB,
                        last_success_at INTEGER,
                        last_failure_at INTEGER
                    );
                    CREATE UNIQUE INDEX job_live_name ON job(name) WHERE deleted_at IS NULL;
                    CREATE INDEX job_due ON job(due_at) WHERE deleted_at IS NULL AND due_at IS NOT NULL;

                    -- every revision's spec, because a ticket runs the revision it was written for
                    CREATE TABLE job_revision (
                        job_id TEXT NOT NULL,
                        revision INTEGER NOT NULL,
                        spec TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (job_id, revision)
                    ) WITHOUT ROWID;

                    CREATE TABLE ticket (
                        seq INTEGER PRIMARY KEY,
                        id BLOB NOT NULL,
                        job_id TEXT NOT NULL,
                        job_name TEXT NOT NULL,
                        revision INTEGER NOT NULL,
                        queue TEXT NOT NULL,
                        slot INTEGER NOT NULL,
                        manual INTEGER NOT NULL DEFAULT 0,
                        idempotency_key TEXT,
                        state TEXT NOT NULL,
                        reason TEXT,
                        detail TEXT,
                        epoch INTEGER,
                        not_before INTEGER NOT NULL,
                        -- start deadline (slot + misfireGrace); NULL when the ticket has none
                        deadline INTEGER,
                        -- catch-up latest: the deadline applies only once a newer ticket of the job exists
                        deadline_if_newer INTEGER NOT NULL DEFAULT 0,
                        -- overlap forbid: claimable only when no earlier ticket of the job is unfinished
                        serialized INTEGER NOT NULL DEFAULT 0,
                        attempt INTEGER NOT NULL DEFAULT 0,
                        max_attempts INTEGER NOT NULL,
                        claim_token BLOB,
                        executor TEXT,
                        lease_expires_at INTEGER,
                        cancel_requested INTEGER NOT NULL DEFAULT 0,
                        created_at INTEGER NOT NULL,
                        started_at INTEGER,
                        finished_at INTEGER
                    );
                    CREATE UNIQUE INDEX ticket_id ON ticket(id);
                    CREATE INDEX ticket_due ON ticket(not_before) WHERE state IN ('pending', 'retrying');
                    CREATE INDEX ticket_running ON ticket(lease_expires_at) WHERE state = 'running';
                    CREATE INDEX ticket_deadline ON ticket(deadline) WHERE state = 'pending' AND deadline IS NOT NULL;
                    CREATE INDEX ticket_unfinished_job ON ticket(job_id, seq) WHERE state IN ('pending', 'running', 'retrying');
                    CREATE INDEX ticket_job_slot ON ticket(job_id, slot);
                    CREATE INDEX ticket_slot ON ticket(slot);
                    CREATE INDEX ticket_finished ON ticket(finished_at) WHERE finished_at IS NOT NULL;

                    CREATE TABLE attempt (
                        ticket_seq INTEGER NOT NULL REFERENCES ticket(seq) ON DELETE CASCADE,
                        number INTEGER NOT NULL,
                        executor TEXT NOT NULL,
                        started_at INTEGER NOT NULL,
                        finished_at INTEGER,
                        outcome TEXT,
                        status INTEGER,
                        output TEXT,
                        PRIMARY KEY (ticket_seq, number)
                    ) WITHOUT ROWID;

                    -- manual-trigger idempotency keys, remembered for BATON_RETENTION even after their ticket is purged
                    CREATE TABLE idempotency_key (
                        job_id TEXT NOT NULL,
                        key TEXT NOT NULL,
                        ticket_id BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (job_id, key)
                    ) WITHOUT ROWID;
                    CREATE INDEX idempotency_key_created ON idempotency_key(created_at);

                    -- the one leader lease row; the epoch is the fencing token and only ever grows
                    CREATE TABLE leader_lease (
                        name TEXT PRIMARY KEY CHECK (name = 'scheduler'),
                        holder TEXT NOT NULL,
                        epoch INTEGER NOT NULL,
                        lease_expires_at INTEGER NOT NULL,
                        heartbeat_at INTEGER NOT NULL,
                        host TEXT NOT NULL,
                        pid INTEGER NOT NULL,
                        endpoint TEXT NOT NULL
                    );

                    CREATE TABLE scheduler_node (
                        id TEXT PRIMARY KEY,
                        host TEXT NOT NULL,
                        pid INTEGER NOT NULL,
                        endpoint TEXT NOT NULL,
                        started_at INTEGER NOT NULL,
                        last_seen INTEGER NOT NULL,
                        tick_lag_ms INTEGER
                    ) WITHOUT ROWID;

                    CREATE TABLE executor_node (
                        id TEXT PRIMARY KEY,
                        host TEXT NOT NULL,
                        pid INTEGER NOT NULL,
                        capacity INTEGER NOT NULL,
                        in_flight INTEGER NOT NULL DEFAULT 0,
                        queues TEXT NOT NULL,
                        version TEXT NOT NULL,
                        started_at INTEGER NOT NULL,
                        last_seen INTEGER NOT NULL,
                        gone_at INTEGER
                    ) WITHOUT ROWID;
                    """)
        }
        // A ticket is unfinished exactly while `finished_at` is NULL (every move into a final state sets it, every
        // move out clears it). Keying the per-job index on that instead of on `state` means a claim, which changes
        // `state` but never `finished_at`, no longer rewrites this index entry: a third fewer pages written per claim
        // in a profile of 100,000 claims. Old binaries still find the same rows; their `state IN (…)` queries just
        // do not use this index.
        migrator.registerMigration("v2-open-ticket-index") { db in
            try db.execute(
                sql: """
                    CREATE INDEX ticket_open_job ON ticket(job_id, seq) WHERE finished_at IS NULL;
                    DROP INDEX ticket_unfinished_job;
                    """)
        }
        // A catch-up after a downtime too long to count in one tick (more than 100,000 missed slots) is counted over
        // several; this carries the count of missed slots passed over so far to the skip record that reports it.
        // Old binaries ignore it (one that takes over mid-count reports fewer unrecorded slots, nothing worse).
        migrator.registerMigration("v3-catchup-unrecorded-skips") { db in
            try db.execute(sql: "ALTER TABLE job ADD COLUMN catchup_unrecorded INTEGER NOT NULL DEFAULT 0")
        }
        // `GET /v1/tickets?job=NAME` filters by the name a ticket was written under (a name outlives a deleted job)
        // and pages newest first by `seq`: without this it scanned the whole ticket table backwards.
        migrator.registerMigration("v3-ticket-job-name-index") { db in
            try db.execute(sql: "CREATE INDEX ticket_job_name ON ticket(job_name, seq)")
        }
        // A job the scheduler cannot plan (a stored spec this build cannot read or evaluate) is parked: the tick
        // records which revision and why, and stops looking at it (due_at NULL) instead of failing every job's tick.
        // Parked means `parked_revision = revision`, so any new revision, written by any binary, unparks the job
        // without having to know these columns. Old binaries ignore them (and skip the job: due_at is NULL).
        migrator.registerMigration("v3-job-parking") { db in
            try db.execute(
                sql: """
                    ALTER TABLE job ADD COLUMN parked_revision INTEGER;
                    ALTER TABLE job ADD COLUMN parked_reason TEXT;
                    CREATE INDEX job_parked ON job(parked_revision) WHERE parked_revision IS NOT NULL;
                    """)
        }
        return migrator
    }
}
