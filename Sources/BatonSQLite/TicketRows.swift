import BatonCore
import BatonStore
import Foundation
import GRDB

/// SQL for the `ticket` and `attempt` tables, shared by the repositories that write them inside their own
/// transactions. The state machine's operations and their preconditions are in `TicketTransitions.swift`.
package enum TicketRows {
    /// The job columns a ticket row copies.
    package struct Owner {
        var jobID: JobID
        var name: String
        var revision: Int64
        var queue: String
        var maxAttempts: Int

        package init(jobID: JobID, name: String, revision: Int64, queue: String, maxAttempts: Int) {
            self.jobID = jobID
            self.name = name
            self.revision = revision
            self.queue = queue
            self.maxAttempts = maxAttempts
        }

        package init(_ job: Job) {
            self.init(
                jobID: job.id, name: job.name, revision: job.revision, queue: job.spec.queue,
                maxAttempts: job.spec.policy.retry.maxAttempts)
        }
    }

    static func hasUnfinished(_ db: Database, jobID: JobID) throws -> Bool {
        // Cached: the tick asks this once per due job, up to 100,000 times a minute.
        let statement = try db.cachedStatement(
            sql: "SELECT EXISTS (SELECT 1 FROM ticket WHERE job_id = ? AND \(TicketPredicate.unfinished))")
        return try Bool.fetchOne(statement, arguments: [jobID.rawValue]) ?? false
    }

    /// Unfinished tickets of the job, counted up to `limit` (all the bounded queue of catch-up all + forbid needs).
    static func unfinishedCount(_ db: Database, jobID: JobID, upTo limit: Int) throws -> Int {
        let statement = try db.cachedStatement(
            sql: "SELECT COUNT(*) FROM (SELECT 1 FROM ticket WHERE job_id = ? AND \(TicketPredicate.unfinished) LIMIT ?)")
        return try Int.fetchOne(statement, arguments: [jobID.rawValue, limit]) ?? 0
    }

    static func ticket(_ db: Database, id: TicketID, withAttempts: Bool) throws -> Ticket? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM ticket WHERE id = ?"), arguments: [Codec.blob(id)])
        else {
            return nil
        }
        var ticket = try self.ticket(row)
        if withAttempts { ticket.attempts = try attempts(db, seq: row["seq"]) }
        return ticket
    }

    static func attempts(_ db: Database, seq: Int64) throws -> [Attempt] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM attempt WHERE ticket_seq = ? ORDER BY number"), arguments: [seq]
        ).map(attempt)
    }

    static func ticket(_ row: Row) throws -> Ticket {
        guard let id = row.ticketID("id") else { throw StoreError(.corrupt, "ticket row without a 32-byte id") }
        return Ticket(
            id: id,
            jobID: JobID(rawValue: row["job_id"]),
            jobName: row["job_name"],
            revision: row["revision"],
            slot: row.requiredTimestamp("slot"),
            state: TicketState(rawValue: row["state"]) ?? .pending,
            reason: (row["reason"] as String?).flatMap(TicketReason.init(rawValue:)),
            detail: row["detail"],
            epoch: row["epoch"],
            attempt: row["attempt"],
            maxAttempts: row["max_attempts"],
            notBefore: row.requiredTimestamp("not_before"),
            createdAt: row.requiredTimestamp("created_at"),
            startedAt: row.timestamp("started_at"),
            finishedAt: row.timestamp("finished_at"),
            executor: row["executor"],
            manual: row["manual"])
    }

    static func attempt(_ row: Row) -> Attempt {
        Attempt(
            number: row["number"],
            executor: row["executor"],
            startedAt: row.requiredTimestamp("started_at"),
            finishedAt: row.timestamp("finished_at"),
            outcome: (row["outcome"] as String?).flatMap(AttemptOutcome.init(rawValue:)),
            status: row["status"],
            output: row["output"])
    }

    /// Finish, hand back or expire (``TicketTransition/init(ending:)``): ends the running attempt `seq` with
    /// `outcome` and moves the ticket per `AttemptResolution`. The caller has already matched the operation's
    /// precondition (`heldSQL` or `expiredSQL`).
    static func finishAttempt(
        _ db: Database, seq: Int64, jobID: String, attempt: Int, maxAttempts: Int, cancelRequested: Bool,
        outcome: AttemptOutcome, status: Int?, output: String?, retry: RetryPolicy, now: Timestamp
    ) throws -> AttemptResolution {
        var jobTimes = JobOutcomeTimes()
        let resolution = try finishAttempt(
            db, seq: seq, jobID: jobID, attempt: attempt, maxAttempts: maxAttempts, cancelRequested: cancelRequested,
            outcome: outcome, status: status, output: output, retry: retry, now: now, jobTimes: &jobTimes)
        try jobTimes.write(db, now: now)
        return resolution
    }

    /// Jobs whose `last_success_at` / `last_failure_at` become `now`, collected over a batch and written once per job.
    struct JobOutcomeTimes {
        var succeeded: Set<String> = []
        var failed: Set<String> = []

        func write(_ db: Database, now: Timestamp) throws {
            if !succeeded.isEmpty {
                let statement = try db.cachedStatement(sql: "UPDATE job SET last_success_at = ? WHERE id = ?")
                for job in succeeded { try statement.execute(arguments: [now.milliseconds, job]) }
            }
            if !failed.isEmpty {
                let statement = try db.cachedStatement(sql: "UPDATE job SET last_failure_at = ? WHERE id = ?")
                for job in failed { try statement.execute(arguments: [now.milliseconds, job]) }
            }
        }
    }

    /// As above, with the job's outcome time recorded in `jobTimes` for the caller to write once per batch.
    static func finishAttempt(
        _ db: Database, seq: Int64, jobID: String, attempt: Int, maxAttempts: Int, cancelRequested: Bool,
        outcome: AttemptOutcome, status: Int?, output: String?, retry: RetryPolicy, finalReason: TicketReason? = nil,
        now: Timestamp, jobTimes: inout JobOutcomeTimes
    ) throws -> AttemptResolution {
        let resolution = AttemptResolution.ending(
            outcome: outcome, attempt: attempt, maxAttempts: maxAttempts, cancelRequested: cancelRequested, retry: retry,
            finalReason: finalReason, now: now)
        let final = resolution.state.isFinal
        // Cached statements: completions arrive in batches of hundreds, each one these same few updates.
        try db.cachedStatement(
            sql: """
                UPDATE ticket SET state = ?, reason = ?, not_before = COALESCE(?, not_before), finished_at = ?,
                    claim_token = NULL, lease_expires_at = NULL, attempt = attempt - ?
                WHERE seq = ?
                """
        ).execute(
            arguments: [
                resolution.state.rawValue, resolution.reason?.rawValue, resolution.notBefore?.milliseconds,
                final ? now.milliseconds : nil, outcome == .handedBack ? 1 : 0, seq,
            ])
        if outcome == .handedBack {
            try db.execute(sql: "DELETE FROM attempt WHERE ticket_seq = ? AND number = ?", arguments: [seq, attempt])
        } else {
            try db.cachedStatement(
                sql: "UPDATE attempt SET finished_at = ?, outcome = ?, status = ?, output = ? WHERE ticket_seq = ? AND number = ?"
            ).execute(arguments: [now.milliseconds, outcome.rawValue, status, output, seq, attempt])
        }
        if resolution.state == .succeeded {
            jobTimes.succeeded.insert(jobID)
        } else if resolution.state == .failed {
            jobTimes.failed.insert(jobID)
        }
        return resolution
    }
}
