import BatonCore
import BatonStore
import GRDB

public struct SQLiteNodeStore: NodeStore {
    let database: BatonDatabase

    public init(_ database: BatonDatabase) { self.database = database }

    public func heartbeat(executor: ExecutorNode) async throws(StoreError) {
        try await StoreError.mapping("executor heartbeat") {
            try await database.pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO executor_node (id, host, pid, capacity, in_flight, queues, version, started_at, last_seen)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (id) DO UPDATE SET capacity = excluded.capacity, in_flight = excluded.in_flight,
                            queues = excluded.queues, last_seen = excluded.last_seen, gone_at = NULL
                        """,
                    arguments: [
                        executor.id, executor.host, executor.pid, executor.capacity, executor.inFlight,
                        executor.queues.joined(separator: ","), executor.version, executor.startedAt.milliseconds,
                        executor.lastSeen.milliseconds,
                    ])
            }
        }
    }

    public func heartbeat(scheduler: SchedulerIdentity, startedAt: Timestamp, now: Timestamp, tickLagMs: Int?) async throws(StoreError) {
        try await StoreError.mapping("scheduler heartbeat") {
            try await database.pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO scheduler_node (id, host, pid, endpoint, started_at, last_seen, tick_lag_ms)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, tick_lag_ms = excluded.tick_lag_ms
                        """,
                    arguments: [
                        scheduler.id, scheduler.host, scheduler.pid, scheduler.endpoint, startedAt.milliseconds,
                        now.milliseconds, tickLagMs,
                    ])
            }
        }
    }

    public func remove(executor id: String) async throws(StoreError) {
        try await StoreError.mapping("remove executor") {
            try await database.pool.write { db in try db.execute(sql: "DELETE FROM executor_node WHERE id = ?", arguments: [id]) }
        }
    }

    public func remove(scheduler id: String) async throws(StoreError) {
        try await StoreError.mapping("remove scheduler") {
            try await database.pool.write { db in try db.execute(sql: "DELETE FROM scheduler_node WHERE id = ?", arguments: [id]) }
        }
    }

    public func executors(seenSince since: Timestamp) async throws(StoreError) -> [ExecutorNode] {
        try await StoreError.mapping("list executors") {
            try await database.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT * FROM executor_node WHERE last_seen >= ? ORDER BY id", arguments: [since.milliseconds]
                ).map(Self.executor)
            }
        }
    }

    public func executors(seenSince since: Timestamp, limit: Int, after cursor: String?) async throws(StoreError) -> Page<ExecutorNode> {
        try await StoreError.mapping("list executors") {
            try await database.read { db in
                // Keyset on the primary key, like the other lists: a page never repeats or skips an executor
                // that stays live while a client pages through.
                let nodes = try Row.fetchAll(
                    db, sql: "SELECT * FROM executor_node WHERE last_seen >= ? AND id > ? ORDER BY id LIMIT ?",
                    arguments: [since.milliseconds, cursor ?? "", limit + 1]
                ).map(Self.executor)
                return Page(fetched: nodes, limit: limit, cursor: \.id)
            }
        }
    }

    static func executor(_ row: Row) -> ExecutorNode {
        ExecutorNode(
            id: row["id"], host: row["host"], pid: row["pid"], capacity: row["capacity"], inFlight: row["in_flight"],
            queues: (row["queues"] as String).split(separator: ",").map(String.init), version: row["version"],
            startedAt: row.requiredTimestamp("started_at"), lastSeen: row.requiredTimestamp("last_seen"))
    }

    public func schedulers(seenSince since: Timestamp) async throws(StoreError) -> [SchedulerNode] {
        try await StoreError.mapping("list schedulers") {
            try await database.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT * FROM scheduler_node WHERE last_seen >= ? ORDER BY id", arguments: [since.milliseconds]
                ).map { row in
                    SchedulerNode(
                        id: row["id"], host: row["host"], pid: row["pid"], endpoint: row["endpoint"],
                        startedAt: row.requiredTimestamp("started_at"), lastSeen: row.requiredTimestamp("last_seen"),
                        tickLagMs: row["tick_lag_ms"])
                }
            }
        }
    }

    public func forget(notSeenSince cutoff: Timestamp) async throws(StoreError) -> Int {
        try await StoreError.mapping("forget nodes") {
            try await database.pool.write { db in
                try db.execute(sql: "DELETE FROM executor_node WHERE last_seen < ?", arguments: [cutoff.milliseconds])
                var removed = db.changesCount
                try db.execute(sql: "DELETE FROM scheduler_node WHERE last_seen < ?", arguments: [cutoff.milliseconds])
                removed += db.changesCount
                return removed
            }
        }
    }
}
