import BatonCore
import BatonStore
import PostgresNIO

public struct PostgresNodeStore: NodeStore {
    let database: PostgresDatabase

    init(_ database: PostgresDatabase) { self.database = database }

    public func heartbeat(executor: ExecutorNode) async throws(StoreError) {
        try await database.transaction("executor heartbeat") { connection in
            _ = try await connection.query(
                """
                INSERT INTO executor_node (id, host, pid, capacity, in_flight, queues, version, started_at, last_seen)
                VALUES (\(executor.id), \(executor.host), \(executor.pid), \(executor.capacity), \(executor.inFlight),
                    \(executor.queues.joined(separator: ",")), \(executor.version), \(executor.startedAt.milliseconds),
                    \(executor.lastSeen.milliseconds))
                ON CONFLICT (id) DO UPDATE SET capacity = excluded.capacity, in_flight = excluded.in_flight,
                    queues = excluded.queues, last_seen = excluded.last_seen, gone_at = NULL
                """, logger: database.logger)
        }
    }

    public func heartbeat(scheduler: SchedulerIdentity, startedAt: Timestamp, now: Timestamp, tickLagMs: Int?) async throws(StoreError) {
        try await database.transaction("scheduler heartbeat") { connection in
            _ = try await connection.query(
                """
                INSERT INTO scheduler_node (id, host, pid, endpoint, started_at, last_seen, tick_lag_ms)
                VALUES (\(scheduler.id), \(scheduler.host), \(scheduler.pid), \(scheduler.endpoint), \(startedAt.milliseconds),
                    \(now.milliseconds), \(tickLagMs))
                ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, tick_lag_ms = excluded.tick_lag_ms
                """, logger: database.logger)
        }
    }

    public func remove(executor id: String) async throws(StoreError) {
        try await database.transaction("remove executor") { connection in
            _ = try await connection.query("DELETE FROM executor_node WHERE id = \(id)", logger: database.logger)
        }
    }

    public func remove(scheduler id: String) async throws(StoreError) {
        try await database.transaction("remove scheduler") { connection in
            _ = try await connection.query("DELETE FROM scheduler_node WHERE id = \(id)", logger: database.logger)
        }
    }

    public func executors(seenSince since: Timestamp) async throws(StoreError) -> [ExecutorNode] {
        try await database.read("list executors") { connection in
            try await connection.query(
                "SELECT * FROM executor_node WHERE last_seen >= \(since.milliseconds) ORDER BY id", logger: database.logger
            ).rows().map(Self.executor)
        }
    }

    public func executors(seenSince since: Timestamp, limit: Int, after cursor: String?) async throws(StoreError) -> Page<ExecutorNode> {
        try await database.read("list executors") { connection in
            // Keyset on the primary key, like the other lists: a page never repeats or skips an executor
            // that stays live while a client pages through.
            let nodes = try await connection.query(
                """
                SELECT * FROM executor_node WHERE last_seen >= \(since.milliseconds) AND id > \(cursor ?? "")
                ORDER BY id LIMIT \(limit + 1)
                """, logger: database.logger
            ).rows().map(Self.executor)
            return Page(fetched: nodes, limit: limit, cursor: \.id)
        }
    }

    static func executor(_ row: PostgresRandomAccessRow) throws -> ExecutorNode {
        ExecutorNode(
            id: try row.value("id"), host: try row.value("host"), pid: try row.value("pid"), capacity: try row.value("capacity"),
            inFlight: try row.value("in_flight"), queues: try row.value("queues", String.self).split(separator: ",").map(String.init),
            version: try row.value("version"), startedAt: try row.timestamp("started_at"), lastSeen: try row.timestamp("last_seen"))
    }

    public func schedulers(seenSince since: Timestamp) async throws(StoreError) -> [SchedulerNode] {
        try await database.read("list schedulers") { connection in
            try await connection.query(
                "SELECT * FROM scheduler_node WHERE last_seen >= \(since.milliseconds) ORDER BY id", logger: database.logger
            ).rows().map { row in
                SchedulerNode(
                    id: try row.value("id"), host: try row.value("host"), pid: try row.value("pid"), endpoint: try row.value("endpoint"),
                    startedAt: try row.timestamp("started_at"), lastSeen: try row.timestamp("last_seen"),
                    tickLagMs: try row.optional("tick_lag_ms"))
            }
        }
    }

    public func forget(notSeenSince cutoff: Timestamp) async throws(StoreError) -> Int {
        try await database.transaction("forget nodes") { connection in
            let executors = try await connection.query(
                "DELETE FROM executor_node WHERE last_seen < \(cutoff.milliseconds) RETURNING 1", logger: database.logger
            ).count()
            let schedulers = try await connection.query(
                "DELETE FROM scheduler_node WHERE last_seen < \(cutoff.milliseconds) RETURNING 1", logger: database.logger
            ).count()
            return executors + schedulers
        }
    }
}
