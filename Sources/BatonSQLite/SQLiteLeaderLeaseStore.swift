import BatonCore
import BatonStore
import GRDB

extension LeaderFence {
    /// First statement of every fenced transaction: a deposed leader's write stops here and changes nothing.
    func check(_ db: Database, now: Timestamp) throws {
        let current = try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM leader_lease
                               WHERE name = 'scheduler' AND holder = ? AND epoch = ? AND lease_expires_at > ?)
                """,
            arguments: [holder, epoch, now.milliseconds]) ?? false
        guard current else { throw StoreError(.notLeader, "lease \(self) is not current") }
    }
}

public struct SQLiteLeaderLeaseStore: LeaderLeaseStore {
    let database: BatonDatabase

    public init(_ database: BatonDatabase) { self.database = database }

    public func acquireOrRenew(_ me: SchedulerIdentity, epoch: Int64?, now: Timestamp, ttl: TimeSpan) async throws(StoreError) -> LeaderLease {
        try await StoreError.mapping("leader lease") {
            try await database.pool.write { db in
                let expires = (now + ttl).milliseconds
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM leader_lease WHERE name = 'scheduler'") else {
                    try db.execute(
                        sql: """
                            INSERT INTO leader_lease (name, holder, epoch, lease_expires_at, heartbeat_at, host, pid, endpoint)
                            VALUES ('scheduler', ?, 1, ?, ?, ?, ?, ?)
                            """,
                        arguments: [me.id, expires, now.milliseconds, me.host, me.pid, me.endpoint])
                    return try LeaderLeaseRows.current(db)!
                }
                let holder: String = row["holder"]
                let currentEpoch: Int64 = row["epoch"]
                let expiresAt: Int64 = row["lease_expires_at"]
                if holder == me.id, currentEpoch == epoch {
                    // Renewal, even just after expiry: nobody took over, so no higher epoch has acted.
                    try db.execute(
                        sql: """
                            UPDATE leader_lease SET lease_expires_at = ?, heartbeat_at = ?
                            WHERE name = 'scheduler' AND holder = ? AND epoch = ?
                            """,
                        arguments: [expires, now.milliseconds, me.id, currentEpoch])
                } else if expiresAt <= now.milliseconds {
                    try db.execute(
                        sql: """
                            UPDATE leader_lease SET holder = ?, epoch = epoch + 1, lease_expires_at = ?, heartbeat_at = ?,
                                host = ?, pid = ?, endpoint = ?
                            WHERE name = 'scheduler' AND epoch = ?
                            """,
                        arguments: [me.id, expires, now.milliseconds, me.host, me.pid, me.endpoint, currentEpoch])
                }
                return try LeaderLeaseRows.current(db)!
            }
        }
    }

    public func release(_ fence: LeaderFence, now: Timestamp) async throws(StoreError) {
        try await StoreError.mapping("release leader lease") {
            try await database.pool.write { db in
                try db.execute(
                    sql: "UPDATE leader_lease SET lease_expires_at = ? WHERE name = 'scheduler' AND holder = ? AND epoch = ?",
                    arguments: [now.milliseconds, fence.holder, fence.epoch])
            }
        }
    }

    public func current() async throws(StoreError) -> LeaderLease? {
        try await StoreError.mapping("read leader lease") {
            try await database.read { db in try LeaderLeaseRows.current(db) }
        }
    }
}

enum LeaderLeaseRows {
    static func current(_ db: Database) throws -> LeaderLease? {
        try Row.fetchOne(db, sql: "SELECT * FROM leader_lease WHERE name = 'scheduler'").map { row in
            LeaderLease(
                holder: row["holder"], epoch: row["epoch"], leaseExpiresAt: row.requiredTimestamp("lease_expires_at"),
                heartbeatAt: row.requiredTimestamp("heartbeat_at"), host: row["host"], pid: row["pid"],
                endpoint: row["endpoint"])
        }
    }
}
