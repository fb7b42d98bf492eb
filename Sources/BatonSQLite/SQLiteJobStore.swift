import BatonCore
import BatonStore
import Foundation
import GRDB

public struct SQLiteJobStore: JobStore {
    let database: BatonDatabase

    public init(_ database: BatonDatabase) { self.database = database }

    public func create(_ spec: JobSpec, now: Timestamp) async throws(StoreError) -> Job {
        try await write("create job") { db in
            if try JobRows.live(db, name: spec.name, specs: database.caches.specs) != nil {
                throw StoreError(.conflict, "a job named \"\(spec.name)\" already exists")
            }
            return try JobRows.insert(db, spec: spec, now: now)
        }
    }

    public func put(_ spec: JobSpec, ifRevision: Int64?, now: Timestamp) async throws(StoreError) -> (job: Job, created: Bool) {
        try await write("put job") { db in
            guard let existing = try JobRows.live(db, name: spec.name, specs: database.caches.specs) else {
                if let ifRevision {
                    throw StoreError(.revisionMismatch, "job \"\(spec.name)\" does not exist (If-Match \(ifRevision))")
                }
                return (try JobRows.insert(db, spec: spec, now: now), true)
            }
            try existing.check(ifRevision: ifRevision)
            return (try JobRows.update(db, existing, spec: spec, now: now), false)
        }
    }

    public func job(named name: String) async throws(StoreError) -> Job? {
        try await read("get job") { db in try JobRows.live(db, name: name, specs: database.caches.specs) }
    }

    public func job(id: JobID, revision: Int64) async throws(StoreError) -> JobSpec? {
        try await read("get job revision") { db in
            guard
                let json = try String.fetchOne(
                    db, sql: "SELECT spec FROM job_revision WHERE job_id = ? AND revision = ?",
                    arguments: [id.rawValue, revision])
            else { return nil }
            return try StoredSpec.decode(json)
        }
    }

    public func list(limit: Int, after cursor: String?, label: (String, String)?, paused: Bool?) async throws(StoreError) -> Page<Job> {
        try await read("list jobs") { db in
            var sql = "SELECT * FROM job WHERE deleted_at IS NULL"
            var arguments: StatementArguments = []
            if let cursor {
                sql += " AND name > ?"
                arguments += [cursor]
            }
            if let paused {
                sql += paused ? " AND state = 'paused'" : " AND state != 'paused'"
            }
            if let (key, value) = label {
                sql += " AND json_extract(spec, '$.labels.' || json_quote(?)) = ?"
                arguments += [key, value]
            }
            sql += " ORDER BY name LIMIT ?"
            arguments += [limit + 1]
            return Page(fetched: try Row.fetchAll(db, sql: sql, arguments: arguments).map { try JobRows.job($0, specs: database.caches.specs) }, limit: limit, cursor: \.name)
        }
    }

    public func setPaused(_ paused: Bool, name: String, ifRevision: Int64?, now: Timestamp) async throws(StoreError) -> Job {
        try await write("pause job") { db in
            guard let existing = try JobRows.live(db, name: name, specs: database.caches.specs) else {
                throw StoreError(.notFound, "no job named \"\(name)\"")
            }
            guard let spec = try existing.pausedSpec(paused, ifRevision: ifRevision) else { return existing }
            return try JobRows.update(db, existing, spec: spec, now: now)
        }
    }

    public func delete(name: String, ifRevision: Int64?, now: Timestamp) async throws(StoreError) {
        try await write("delete job") { db in
            guard let existing = try JobRows.live(db, name: name, specs: database.caches.specs) else {
                throw StoreError(.notFound, "no job named \"\(name)\"")
            }
            try existing.check(ifRevision: ifRevision)
            try db.execute(
                sql: "UPDATE job SET deleted_at = ?, updated_at = ?, due_at = NULL, next_fire_at = NULL WHERE id = ?",
                arguments: [now.milliseconds, now.milliseconds, existing.id.rawValue])
            try TicketRows.cancelUnfinished(db, jobID: existing.id, reason: .jobDeleted, now: now)
        }
    }

    func read<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        try await StoreError.mapping(operation) { try await database.read(body) }
    }

    func write<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        try await StoreError.mapping(operation) { try await database.pool.write(body) }
    }
}

/// SQL for the `job` table, shared by the repositories that touch it inside their own transactions.
package enum JobRows {
    package static func live(_ db: Database, name: String, specs: SpecCache) throws -> Job? {
        // Cached statements here and on the other per-request paths: preparing a statement runs GRDB's authorizer
        // callback once per column, a tenth of the gateway's CPU when every GET prepared its query afresh.
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM job WHERE name = ? AND deleted_at IS NULL"), arguments: [name])
            .map { try job($0, specs: specs) }
    }

    package static func byID(_ db: Database, _ id: JobID, specs: SpecCache) throws -> Job? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM job WHERE id = ?"), arguments: [id.rawValue]).map { try job($0, specs: specs) }
    }

    /// The job in a row (``StoredJobRow/job(specs:)``: an unreadable spec parks it instead of failing the read).
    static func job(_ row: Row, specs: SpecCache) throws -> Job {
        StoredJobRow(
            id: row["id"], name: row["name"], revision: row["revision"], spec: row["spec"], state: row["state"],
            queue: row["queue"], createdAt: row.requiredTimestamp("created_at"), updatedAt: row.requiredTimestamp("updated_at"),
            watermark: row.requiredTimestamp("watermark"), nextFireAt: row.timestamp("next_fire_at"),
            lastTicket: row.ticketID("last_ticket"), lastSuccessAt: row.timestamp("last_success_at"),
            lastFailureAt: row.timestamp("last_failure_at"), parkedRevision: row["parked_revision"],
            parkedReason: row["parked_reason"]
        ).job(specs: specs)
    }

    package static func insert(_ db: Database, spec: JobSpec, now: Timestamp) throws -> Job {
        let id = JobID(rawValue: UUID().uuidString.lowercased())
        let position = try JobPosition.created(spec, now: now)
        let (state, next) = (position.state, position.nextFireAt)
        let json = try StoredSpec.encode(spec)
        try db.execute(
            sql: """
                INSERT INTO job (id, name, revision, spec, state, queue, created_at, updated_at, watermark, next_fire_at, due_at)
                VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                id.rawValue, spec.name, json, state.rawValue, spec.queue, now.milliseconds, now.milliseconds,
                now.milliseconds, next?.milliseconds, position.dueAt?.milliseconds,
            ])
        try db.execute(
            sql: "INSERT INTO job_revision (job_id, revision, spec, created_at) VALUES (?, 1, ?, ?)",
            arguments: [id.rawValue, json, now.milliseconds])
        return Job(
            id: id, revision: 1, spec: spec, state: state, createdAt: now, updatedAt: now, watermark: now,
            nextFireAt: next)
    }

    /// A new revision (``JobPosition/edited(_:to:now:)``).
    static func update(_ db: Database, _ existing: Job, spec: JobSpec, now: Timestamp) throws -> Job {
        let position = try JobPosition.edited(existing, to: spec, now: now)
        let json = try StoredSpec.encode(spec)
        let revision = existing.revision + 1
        try db.execute(
            sql: """
                UPDATE job SET revision = ?, spec = ?, state = ?, queue = ?, updated_at = ?, watermark = ?,
                    next_fire_at = ?, due_at = ?, parked_revision = NULL, parked_reason = NULL
                WHERE id = ?
                """,
            arguments: [
                revision, json, position.state.rawValue, spec.queue, now.milliseconds, position.watermark.milliseconds,
                position.nextFireAt?.milliseconds, position.dueAt?.milliseconds, existing.id.rawValue,
            ])
        try db.execute(
            sql: "INSERT INTO job_revision (job_id, revision, spec, created_at) VALUES (?, ?, ?, ?)",
            arguments: [existing.id.rawValue, revision, json, now.milliseconds])
        return existing.edited(to: spec, revision: revision, position: position, now: now)
    }
}
