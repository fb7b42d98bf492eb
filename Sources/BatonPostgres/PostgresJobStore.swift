import BatonCore
import BatonStore
import Foundation
import PostgresNIO

public struct PostgresJobStore: JobStore {
    let database: PostgresDatabase

    package init(_ database: PostgresDatabase) { self.database = database }

    public func create(_ spec: JobSpec, now: Timestamp) async throws(StoreError) -> Job {
        try await database.transaction("create job") { connection in
            if try await PostgresJobRows.live(connection, name: spec.name, lock: false, specs: database.caches.specs, logger: database.logger) != nil {
                throw StoreError(.conflict, "a job named \"\(spec.name)\" already exists")
            }
            // A concurrent create of the same name fails on `job_live_name` (23505 → conflict).
            return try await insert(connection, spec: spec, now: now)
        }
    }

    public func put(_ spec: JobSpec, ifRevision: Int64?, now: Timestamp) async throws(StoreError) -> (job: Job, created: Bool) {
        try await database.transaction("put job") { connection in
            guard let existing = try await PostgresJobRows.live(connection, name: spec.name, lock: true, specs: database.caches.specs, logger: database.logger) else {
                if let ifRevision {
                    throw StoreError(.revisionMismatch, "job \"\(spec.name)\" does not exist (If-Match \(ifRevision))")
                }
                return (try await insert(connection, spec: spec, now: now), true)
            }
            try existing.check(ifRevision: ifRevision)
            return (try await update(connection, existing, spec: spec, now: now), false)
        }
    }

    public func job(named name: String) async throws(StoreError) -> Job? {
        try await database.read("get job") { connection in
            try await PostgresJobRows.live(connection, name: name, lock: false, specs: database.caches.specs, logger: database.logger)
        }
    }

    public func job(id: JobID, revision: Int64) async throws(StoreError) -> JobSpec? {
        try await database.read("get job revision") { connection in
            let rows = try await connection.query(
                "SELECT spec FROM job_revision WHERE job_id = \(id.rawValue) AND revision = \(revision)", logger: database.logger
            ).rows()
            guard let json = try rows.first?.value("spec", String.self) else { return nil }
            return try StoredSpec.decode(json)
        }
    }

    public func list(limit: Int, after cursor: String?, label: (String, String)?, paused: Bool?) async throws(StoreError) -> Page<Job> {
        try await database.read("list jobs") { connection in
            var sql = "SELECT \(PostgresJobRows.columns) FROM job WHERE deleted_at IS NULL"
            var binds = PostgresBindings()
            if let cursor {
                binds.append(cursor)
                sql += " AND name > $\(binds.count)"
            }
            if let paused {
                sql += paused ? " AND state = 'paused'" : " AND state != 'paused'"
            }
            if let (key, value) = label {
                binds.append(key)
                binds.append(value)
                // `jsonb` refuses the escape `\u0000`, which a spec may hold in any string: the filter reads a copy
                // with each one as `\ufffd` (same length, still valid JSON, even after an escaped backslash).
                sql += " AND (replace(spec, '\\u0000', '\\ufffd')::jsonb -> 'labels' ->> $\(binds.count - 1)) = $\(binds.count)"
            }
            binds.append(limit + 1)
            sql += " ORDER BY name LIMIT $\(binds.count)"
            let jobs = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: database.logger)
                .rows().map { try PostgresJobRows.job($0, specs: database.caches.specs) }
            return Page(fetched: jobs, limit: limit, cursor: \.name)
        }
    }

    public func setPaused(_ paused: Bool, name: String, ifRevision: Int64?, now: Timestamp) async throws(StoreError) -> Job {
        try await database.transaction("pause job") { connection in
            guard let existing = try await PostgresJobRows.live(connection, name: name, lock: true, specs: database.caches.specs, logger: database.logger) else {
                throw StoreError(.notFound, "no job named \"\(name)\"")
            }
            guard let spec = try existing.pausedSpec(paused, ifRevision: ifRevision) else { return existing }
            return try await update(connection, existing, spec: spec, now: now)
        }
    }

    public func delete(name: String, ifRevision: Int64?, now: Timestamp) async throws(StoreError) {
        try await database.transaction("delete job") { connection in
            guard let existing = try await PostgresJobRows.live(connection, name: name, lock: true, specs: database.caches.specs, logger: database.logger) else {
                throw StoreError(.notFound, "no job named \"\(name)\"")
            }
            try existing.check(ifRevision: ifRevision)
            try await connection.query(
                """
                UPDATE job SET deleted_at = \(now.milliseconds), updated_at = \(now.milliseconds), due_at = NULL, next_fire_at = NULL
                WHERE id = \(existing.id.rawValue)
                """, logger: database.logger)
            try await PostgresTicketRows.cancelUnfinished(
                connection, jobID: existing.id, reason: .jobDeleted, now: now, logger: database.logger)
        }
    }

    /// Creates many jobs in one transaction, as ``create(_:now:)`` would one by one (names must be new): for seeding
    /// benchmarks with 100,000 jobs without 100,000 transactions.
    package func createMany(_ specs: [JobSpec], now: Timestamp) async throws(StoreError) -> [JobID] {
        try await database.transaction("create jobs") { connection in
            var ids: [JobID] = []
            ids.reserveCapacity(specs.count)
            for spec in specs { ids.append(try await insert(connection, spec: spec, now: now).id) }
            return ids
        }
    }

    private func insert(_ connection: PostgresConnection, spec: JobSpec, now: Timestamp) async throws -> Job {
        let id = JobID(rawValue: UUID().uuidString.lowercased())
        let position = try JobPosition.created(spec, now: now)
        let json = try StoredSpec.encode(spec)
        try await connection.query(
            """
            INSERT INTO job (id, name, revision, spec, state, queue, created_at, updated_at, watermark, next_fire_at, due_at)
            VALUES (\(id.rawValue), \(spec.name), 1, \(json), \(position.state.rawValue), \(spec.queue), \(now.milliseconds),
                \(now.milliseconds), \(now.milliseconds), \(position.nextFireAt?.milliseconds), \(position.dueAt?.milliseconds))
            """, logger: database.logger)
        try await connection.query(
            "INSERT INTO job_revision (job_id, revision, spec, created_at) VALUES (\(id.rawValue), 1, \(json), \(now.milliseconds))",
            logger: database.logger)
        return Job(
            id: id, revision: 1, spec: spec, state: position.state, createdAt: now, updatedAt: now, watermark: now,
            nextFireAt: position.nextFireAt)
    }

    /// A new revision of a job whose row the caller has locked.
    private func update(_ connection: PostgresConnection, _ existing: Job, spec: JobSpec, now: Timestamp) async throws -> Job {
        let position = try JobPosition.edited(existing, to: spec, now: now)
        let json = try StoredSpec.encode(spec)
        let revision = existing.revision + 1
        try await connection.query(
            """
            UPDATE job SET revision = \(revision), spec = \(json), state = \(position.state.rawValue), queue = \(spec.queue),
                updated_at = \(now.milliseconds), watermark = \(position.watermark.milliseconds),
                next_fire_at = \(position.nextFireAt?.milliseconds), due_at = \(position.dueAt?.milliseconds),
                parked_revision = NULL, parked_reason = NULL
            WHERE id = \(existing.id.rawValue)
            """, logger: database.logger)
        try await connection.query(
            """
            INSERT INTO job_revision (job_id, revision, spec, created_at)
            VALUES (\(existing.id.rawValue), \(revision), \(json), \(now.milliseconds))
            """, logger: database.logger)
        return existing.edited(to: spec, revision: revision, position: position, now: now)
    }
}
