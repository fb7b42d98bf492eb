import BatonCore
import BatonStore
import Logging
import PostgresNIO

/// Writes another backend's user state into this PostgreSQL database (`baton migrate --from … --to postgres://…`).
///
/// All in one transaction, so a failure at any row leaves the target as it was; under a lock on the copied tables, so
/// a second copy (or a role already pointed at the target) waits for it and then finds the target not empty. Row keys
/// are kept (`OVERRIDING SYSTEM VALUE`), so job ids, ticket ids and the attempts' `ticket_seq` stay what they were, and
/// the identity sequences then move past the largest copied key.
public enum PostgresTransfer {
    /// What was copied.
    public struct Summary: Sendable, Equatable {
        /// Rows written per table, in copy order.
        public var rows: [TransferTable: Int]
        /// The leader epoch carried over (nil when the source had no lease, or the target had its own).
        public var epoch: Int64?

        public init(rows: [TransferTable: Int], epoch: Int64?) {
            self.rows = rows
            self.epoch = epoch
        }
    }

    /// Rows per INSERT: one round trip per batch, not per row. 1000 rows of the widest table (ticket, 26 columns) bind
    /// 26,000 parameters, under the protocol's 65,535.
    public static let batchSize = 1000

    /// Migrates the target, then copies every ``TransferTable`` from `source` in one transaction.
    /// - Parameter leaderEpoch: the source's leader epoch. It is written as an already expired lease (held by no
    ///   scheduler), so the first scheduler on the target takes over with the next epoch and fencing tokens never go
    ///   backwards; a lease row the target already has is left alone.
    public static func copy(
        from source: some TransferSource, leaderEpoch: Int64?, into backend: PostgresBackend, batchSize: Int = batchSize
    ) async throws(TransferError) -> Summary {
        let database = backend.database
        let logger = database.logger
        let outcome: Result<Summary, TransferError>
        do {
            try await PostgresMigrations.migrate(database)
            outcome = try await database.transaction("copy into PostgreSQL") { connection -> Result<Summary, TransferError> in
                let tables = TransferTable.allCases.map(\.rawValue).joined(separator: ", ")
                // SHARE ROW EXCLUSIVE conflicts with itself and with every write: no one else changes these tables
                // until this transaction ends, and a concurrent copy waits here.
                try await connection.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(tables) IN SHARE ROW EXCLUSIVE MODE"), logger: logger)
                if let occupied = try await occupancy(connection, logger: logger) { return .failure(occupied) }
                var summary = Summary(rows: [:], epoch: nil)
                for table in TransferTable.allCases {
                    summary.rows[table] = try await copy(table, from: source, connection, batchSize: batchSize, logger: logger)
                    if let column = table.identityColumn {
                        // setval is strict: for an empty table (max NULL) it does nothing, and the sequence starts at 1.
                        try await connection.query(
                            PostgresQuery(
                                unsafeSQL: """
                                    SELECT setval(pg_get_serial_sequence('\(table.rawValue)', '\(column)'), max(\(column)))
                                    FROM \(table.rawValue)
                                    """), logger: logger)
                    }
                }
                if let leaderEpoch {
                    let written = try await connection.query(
                        """
                        INSERT INTO leader_lease (name, holder, epoch, lease_expires_at, heartbeat_at, host, pid, endpoint)
                        VALUES ('scheduler', 'baton-migrate', \(leaderEpoch), 0, 0, '', 0, '')
                        ON CONFLICT (name) DO NOTHING
                        RETURNING epoch
                        """, logger: logger
                    ).count()
                    summary.epoch = written == 1 ? leaderEpoch : nil
                }
                return .success(summary)
            }
        } catch {
            throw TransferError(error)
        }
        return try outcome.get()
    }

    /// A refusal when the target already holds user state; jobs are named first, since they are what a user sees.
    private static func occupancy(_ connection: PostgresConnection, logger: Logger) async throws -> TransferError? {
        let counts = TransferTable.allCases.map { "(SELECT count(*) FROM \($0.rawValue)) AS \($0.rawValue)" }.joined(separator: ", ")
        guard let row = try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(counts)"), logger: logger).rows().first else {
            return nil
        }
        for table in TransferTable.allCases {
            let count = try row.value(table.rawValue, Int64.self)
            if count > 0 {
                let what = table == .job ? (count == 1 ? "job" : "jobs") : "\(table.rawValue) row\(count == 1 ? "" : "s")"
                return TransferError(.targetNotEmpty, "target already has \(count) \(what); copy only into a database no Baton has used")
            }
        }
        return nil
    }

    /// One table, a page at a time in key order: each page read from the source becomes one multi-row INSERT.
    private static func copy(
        _ table: TransferTable, from source: some TransferSource, _ connection: PostgresConnection, batchSize: Int, logger: Logger
    ) async throws -> Int {
        let columns = table.columns
        // A caller's larger batch would pass the protocol's 65,535 parameters per statement.
        let batchSize = max(1, min(batchSize, Int(UInt16.max) / columns.count))
        let overriding = table.identityColumn == nil ? "" : " OVERRIDING SYSTEM VALUE"
        let insert = "INSERT INTO \(table.rawValue) (\(columns.map(\.name).joined(separator: ", ")))\(overriding) VALUES "
        var copied = 0
        var key: [TransferValue]? = nil
        while true {
            let rows = try await source.rows(of: table, after: key, limit: batchSize)
            guard let last = rows.last else { return copied }
            var binds = PostgresBindings(capacity: rows.count * columns.count)
            var tuples: [String] = []
            tuples.reserveCapacity(rows.count)
            for row in rows {
                guard row.count == columns.count else {
                    throw StoreError(.internal, "\(table.rawValue): a row of \(row.count) values for \(columns.count) columns")
                }
                let first = binds.count
                for (value, column) in zip(row, columns) { try bind(value, column, table: table, into: &binds) }
                tuples.append("(" + (first..<binds.count).map { "$\($0 + 1)" }.joined(separator: ", ") + ")")
            }
            try await connection.query(PostgresQuery(unsafeSQL: insert + tuples.joined(separator: ", "), binds: binds), logger: logger)
            copied += rows.count
            key = Array(last.prefix(table.keyColumnCount))
            if rows.count < batchSize { return copied }
        }
    }

    /// Binds typed parameters, so PostgreSQL checks each against its column (in a multi-row INSERT … VALUES every
    /// value is coerced to the target column's type, and NULLs take it too).
    private static func bind(_ value: TransferValue, _ column: TransferTable.Column, table: TransferTable, into binds: inout PostgresBindings) throws {
        switch (value, column.kind) {
        case (.null, _): binds.appendNull()
        case (.integer(let number), .integer): binds.append(number)
        case (.boolean(let flag), .boolean): binds.append(flag)
        case (.text(let text), .text): binds.append(text)
        case (.blob(let bytes), .blob): binds.append(ByteBuffer(bytes: bytes))
        default: throw StoreError(.corrupt, "\(table.rawValue).\(column.name): a value that is not \(column.kind)")
        }
    }
}
