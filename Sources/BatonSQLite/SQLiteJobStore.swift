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
            try JobRows.check(existing, ifRevision: ifRevision)
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
            return try Codec.spec(json)
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
            var jobs = try Row.fetchAll(db, sql: sql, arguments: arguments).map { try JobRows.job($0, specs: database.caches.specs) }
            var next: String?
            if jobs.count > limit {
                jobs.removeLast()
                next = jobs.last?.name
            }
            return Page(items: jobs, nextCursor: next)
        }
    }

    public func setPaused(_ paused: Bool, name: String, ifRevision: Int64?, now: Timestamp) async throws(StoreError) -> Job {
        try await write("pause job") { db in
            guard let existing = try JobRows.live(db, name: name, specs: database.caches.specs) else {
                throw StoreError(.notFound, "no job named \"\(name)\"")
            }
            try JobRows.check(existing, ifRevision: ifRevision)
            try JobRows.requireReadableSpec(existing, for: paused ? "paused" : "resumed")
            guard existing.spec.paused != paused else { return existing }
            var spec = existing.spec
            spec.paused = paused
            return try JobRows.update(db, existing, spec: spec, now: now)
        }
    }

    public func delete(name: String, ifRevision: Int64?, now: Timestamp) async throws(StoreError) {
        try await write("delete job") { db in
            guard let existing = try JobRows.live(db, name: name, specs: database.caches.specs) else {
                throw StoreError(.notFound, "no job named \"\(name)\"")
            }
            try JobRows.check(existing, ifRevision: ifRevision)
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

    /// The job in a row. A spec this process cannot read does not make the row unreadable: the job comes back
    /// parked, with a stand-in spec, so it can still be listed, shown, replaced and deleted.
    static func job(_ row: Row, specs: SpecCache) throws -> Job {
        let revision: Int64 = row["revision"]
        // Parked by a scheduler at this revision; a later revision (written by any binary) is not.
        let parkedReason: String? = (row["parked_revision"] as Int64?) == revision ? row["parked_reason"] : nil
        do {
            let spec = try specs.value(for: RevisionKey(job: row["id"], revision: revision)) { try Codec.spec(row["spec"]) }
            var job = job(row, spec: spec)
            if let parkedReason {
                job.state = .parked
                job.parking = Parking(reason: parkedReason, specReadable: true)
            }
            return job
        } catch let error as StoreError where error.code == .corrupt {
            let standIn = JobSpec(
                name: row["name"], schedule: ScheduleSpec(.at(row.requiredTimestamp("created_at"))), action: .noop,
                paused: (row["state"] as String?) == JobState.paused.rawValue, queue: row["queue"])
            var job = job(row, spec: standIn)
            job.state = .parked
            job.parking = Parking(reason: parkedReason ?? error.message, specReadable: false)
            return job
        }
    }

    /// Refuses an operation that needs the stored spec of a job this process cannot read.
    static func requireReadableSpec(_ job: Job, for operation: String) throws {
        if let parking = job.parking, !parking.specReadable {
            throw StoreError(
                .conflict,
                "job \"\(job.name)\" is parked and its spec cannot be read here, so it cannot be \(operation); "
                    + "replace it with PUT or delete it (\(parking.reason))")
        }
    }

    /// A job row whose spec the caller already has (parsed from this row's revision).
    static func job(_ row: Row, spec: JobSpec) -> Job {
        Job(
            id: JobID(rawValue: row["id"]),
            revision: row["revision"],
            spec: spec,
            state: JobState(rawValue: row["state"]) ?? .active,
            createdAt: row.requiredTimestamp("created_at"),
            updatedAt: row.requiredTimestamp("updated_at"),
            watermark: row.requiredTimestamp("watermark"),
            nextFireAt: row.timestamp("next_fire_at"),
            lastTicket: row.ticketID("last_ticket"),
            lastSuccessAt: row.timestamp("last_success_at"),
            lastFailureAt: row.timestamp("last_failure_at"))
    }

    static func check(_ job: Job, ifRevision: Int64?) throws {
        if let ifRevision, ifRevision != job.revision {
            throw StoreError(.revisionMismatch, "job \"\(job.name)\" is at revision \(job.revision), not \(ifRevision)")
        }
    }

    /// Where the schedule stands after `watermark`: the next slot, the job's state and when the scheduler should look.
    static func position(spec: JobSpec, createdAt: Timestamp, watermark: Timestamp) throws -> (JobState, next: Timestamp?) {
        let schedule = try Schedule(spec.schedule, createdAt: createdAt)
        let next = schedule.nextSlot(after: watermark)
        if spec.paused { return (.paused, next) }
        return (next == nil ? .completed : .active, next)
    }

    package static func insert(_ db: Database, spec: JobSpec, now: Timestamp) throws -> Job {
        let id = JobID(rawValue: UUID().uuidString.lowercased())
        let (state, next) = try position(spec: spec, createdAt: now, watermark: now)
        let json = try Codec.specJSON(spec)
        try db.execute(
            sql: """
                INSERT INTO job (id, name, revision, spec, state, queue, created_at, updated_at, watermark, next_fire_at, due_at)
                VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                id.rawValue, spec.name, json, state.rawValue, spec.queue, now.milliseconds, now.milliseconds,
                now.milliseconds, next?.milliseconds, state == .active ? next?.milliseconds : nil,
            ])
        try db.execute(
            sql: "INSERT INTO job_revision (job_id, revision, spec, created_at) VALUES (?, 1, ?, ?)",
            arguments: [id.rawValue, json, now.milliseconds])
        return Job(
            id: id, revision: 1, spec: spec, state: state, createdAt: now, updatedAt: now, watermark: now,
            nextFireAt: next)
    }

    /// A new revision. Schedule edits apply after the watermark; a resumed job skips the paused time
    /// (its watermark moves to now, CONTRACT §9a "Pause").
    static func update(_ db: Database, _ existing: Job, spec: JobSpec, now: Timestamp) throws -> Job {
        var watermark = existing.watermark
        if existing.spec.paused && !spec.paused { watermark = max(watermark, now) }
        let (state, next) = try position(spec: spec, createdAt: existing.createdAt, watermark: watermark)
        let json = try Codec.specJSON(spec)
        let revision = existing.revision + 1
        try db.execute(
            sql: """
                UPDATE job SET revision = ?, spec = ?, state = ?, queue = ?, updated_at = ?, watermark = ?,
                    next_fire_at = ?, due_at = ?, parked_revision = NULL, parked_reason = NULL
                WHERE id = ?
                """,
            arguments: [
                revision, json, state.rawValue, spec.queue, now.milliseconds, watermark.milliseconds, next?.milliseconds,
                state == .active ? next?.milliseconds : nil, existing.id.rawValue,
            ])
        try db.execute(
            sql: "INSERT INTO job_revision (job_id, revision, spec, created_at) VALUES (?, ?, ?, ?)",
            arguments: [existing.id.rawValue, revision, json, now.milliseconds])
        var job = existing
        job.revision = revision
        job.spec = spec
        job.state = state
        job.updatedAt = now
        job.watermark = watermark
        job.nextFireAt = next
        job.parking = nil
        return job
    }
}
