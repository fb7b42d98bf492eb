import BatonCore
import BatonStore
import PostgresNIO

/// The single-row leader lease (CONTRACT §7). A renewal or takeover locks the row `FOR UPDATE`, so it waits for
/// every fenced transaction in flight (they hold it `FOR SHARE`) and none starts while it decides.
public struct PostgresLeaderLeaseStore: LeaderLeaseStore {
    let database: PostgresDatabase

    init(_ database: PostgresDatabase) { self.database = database }

    public func acquireOrRenew(_ me: SchedulerIdentity, epoch: Int64?, now: Timestamp, ttl: TimeSpan) async throws(StoreError) -> LeaderLease {
        let logger = database.logger
        return try await database.transaction("leader lease") { connection in
            let expires = (now + ttl).milliseconds
            let first = try await connection.query(
                """
                INSERT INTO leader_lease (name, holder, epoch, lease_expires_at, heartbeat_at, host, pid, endpoint)
                VALUES ('scheduler', \(me.id), 1, \(expires), \(now.milliseconds), \(me.host), \(me.pid), \(me.endpoint))
                ON CONFLICT (name) DO NOTHING
                RETURNING \(unescaped: Self.columns)
                """, logger: logger
            ).rows()
            if let row = first.first { return try Self.lease(row) }
            guard let row = try await connection.query(
                "SELECT \(unescaped: Self.columns) FROM leader_lease WHERE name = 'scheduler' FOR UPDATE", logger: logger
            ).rows().first else { throw StoreError(.internal, "the leader lease row vanished") }
            let current = try Self.lease(row)
            if current.holder == me.id, current.epoch == epoch {
                // Renewal, even just after expiry: nobody took over, so no higher epoch has acted.
                try await connection.query(
                    """
                    UPDATE leader_lease SET lease_expires_at = \(expires), heartbeat_at = \(now.milliseconds)
                    WHERE name = 'scheduler' AND holder = \(me.id) AND epoch = \(current.epoch)
                    """, logger: logger)
            } else if current.leaseExpiresAt <= now {
                try await connection.query(
                    """
                    UPDATE leader_lease SET holder = \(me.id), epoch = epoch + 1, lease_expires_at = \(expires),
                        heartbeat_at = \(now.milliseconds), host = \(me.host), pid = \(me.pid), endpoint = \(me.endpoint)
                    WHERE name = 'scheduler' AND epoch = \(current.epoch)
                    """, logger: logger)
            } else {
                return current
            }
            return try await Self.current(connection, logger: logger) ?? current
        }
    }

    public func release(_ fence: LeaderFence, now: Timestamp) async throws(StoreError) {
        try await database.transaction("release leader lease") { connection in
            _ = try await connection.query(
                """
                UPDATE leader_lease SET lease_expires_at = \(now.milliseconds)
                WHERE name = 'scheduler' AND holder = \(fence.holder) AND epoch = \(fence.epoch)
                """, logger: database.logger)
        }
    }

    public func current() async throws(StoreError) -> LeaderLease? {
        try await database.read("read leader lease") { connection in try await Self.current(connection, logger: database.logger) }
    }

    static let columns = "holder, epoch, lease_expires_at, heartbeat_at, host, pid, endpoint"

    static func current(_ connection: PostgresConnection, logger: Logger) async throws -> LeaderLease? {
        try await connection.query("SELECT \(unescaped: columns) FROM leader_lease WHERE name = 'scheduler'", logger: logger)
            .rows().first.map(lease)
    }

    static func lease(_ row: PostgresRandomAccessRow) throws -> LeaderLease {
        LeaderLease(
            holder: try row.value("holder"), epoch: try row.value("epoch"), leaseExpiresAt: try row.timestamp("lease_expires_at"),
            heartbeatAt: try row.timestamp("heartbeat_at"), host: try row.value("host"), pid: try row.value("pid"),
            endpoint: try row.value("endpoint"))
    }
}
