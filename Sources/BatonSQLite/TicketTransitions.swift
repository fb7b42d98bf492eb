import BatonCore
import BatonStore
import Foundation
import GRDB

extension TicketPredicate {
    /// Overlap forbid: a serialized ticket is claimable only once no earlier ticket of its job is unfinished. The
    /// leader's due read applies it too, so it does not offer a ticket every claim would refuse.
    package static let serializedClear = """
        (serialized = 0 OR NOT EXISTS (
            SELECT 1 FROM ticket AS earlier
            WHERE earlier.job_id = ticket.job_id AND earlier.seq < ticket.seq AND earlier.\(unfinished)))
        """
}

/// One ticket row to ``TicketTransition/write``: what the tick planned or a trigger asked for, with the job columns
/// it copies.
package struct NewTicket {
    package var id: TicketID
    package var owner: TicketRows.Owner
    package var slot: Timestamp
    package var manual: Bool
    package var idempotencyKey: String?
    /// `pending`, or a final state for a slot written as not run (and for benchmark history).
    package var state: TicketState
    package var reason: TicketReason?
    package var detail: String?
    /// The leader's epoch; nil for a manual ticket.
    package var epoch: Int64?
    package var notBefore: Timestamp
    package var deadline: Timestamp?
    package var deadlineIfNewer: Bool
    package var serialized: Bool

    package init(
        id: TicketID, owner: TicketRows.Owner, slot: Timestamp, manual: Bool = false, idempotencyKey: String? = nil,
        state: TicketState = .pending, reason: TicketReason? = nil, detail: String? = nil, epoch: Int64?,
        notBefore: Timestamp, deadline: Timestamp? = nil, deadlineIfNewer: Bool = false, serialized: Bool = false
    ) {
        self.id = id
        self.owner = owner
        self.slot = slot
        self.manual = manual
        self.idempotencyKey = idempotencyKey
        self.state = state
        self.reason = reason
        self.detail = detail
        self.epoch = epoch
        self.notBefore = notBefore
        self.deadline = deadline
        self.deadlineIfNewer = deadlineIfNewer
        self.serialized = serialized
    }

    /// A ticket the tick planned, under the leader's epoch.
    package init(_ planned: PlannedTicket, owner: TicketRows.Owner, epoch: Int64) {
        self.init(
            id: planned.id, owner: owner, slot: planned.slot, state: planned.state, reason: planned.reason,
            detail: planned.detail, epoch: epoch, notBefore: planned.notBefore, deadline: planned.deadline,
            deadlineIfNewer: planned.deadlineIfNewer, serialized: planned.serialized)
    }

    /// A manual trigger of the job's current revision, slotted at `now`.
    package static func manual(job: Job, idempotencyKey: String, now: Timestamp, notBefore: Timestamp? = nil) -> NewTicket {
        NewTicket(
            id: TicketID.manual(job: job.id, idempotencyKey: idempotencyKey), owner: TicketRows.Owner(job), slot: now,
            manual: true, idempotencyKey: idempotencyKey, epoch: nil, notBefore: notBefore ?? now,
            serialized: job.spec.policy.overlap == .forbid)
    }

    fileprivate func arguments(now: Timestamp) -> StatementArguments {
        [
            Codec.blob(id), owner.jobID.rawValue, owner.name, owner.revision, owner.queue, slot.milliseconds, manual,
            idempotencyKey, state.rawValue, reason?.rawValue, detail, epoch, notBefore.milliseconds,
            deadline?.milliseconds, deadlineIfNewer, serialized, owner.maxAttempts, now.milliseconds,
            state.isFinal ? now.milliseconds : nil,
        ]
    }
}

extension TicketRows {
    private static let insertSQL = """
        INSERT OR IGNORE INTO ticket (id, job_id, job_name, revision, queue, slot, manual, idempotency_key, state,
            reason, detail, epoch, not_before, deadline, deadline_if_newer, serialized, max_attempts, created_at,
            finished_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// Write: false when a ticket with this id exists (the unique index makes a second write of a slot a no-op).
    /// The tick's path, up to 100,000 rows a minute: the new row's `seq` is `db.lastInsertedRowID`, read for free.
    package static func insert(_ db: Database, _ ticket: NewTicket, now: Timestamp) throws -> Bool {
        try db.cachedStatement(sql: insertSQL).execute(arguments: ticket.arguments(now: now))
        return db.changesCount == 1
    }

    /// Write, answering with the row as stored; nil when a ticket with this id exists.
    static func insertReturningTicket(_ db: Database, _ ticket: NewTicket, now: Timestamp) throws -> Ticket? {
        let statement = try db.cachedStatement(sql: insertSQL + " RETURNING *")
        guard let row = try Row.fetchOne(statement, arguments: ticket.arguments(now: now)) else { return nil }
        var stored = try self.ticket(row)
        stored.attempts = []  // none yet, and known without a query
        return stored
    }

    /// Claim, answering with what the claimed ticket needs; bind token, executor, lease, now, id, now.
    static let claimSQL = """
        UPDATE ticket SET state = \(TicketState.running.sqlLiteral), claim_token = ?, executor = ?, lease_expires_at = ?,
            attempt = attempt + 1, started_at = ?
        WHERE id = ? AND \(TicketPredicate.claimable) AND not_before <= ? AND \(TicketPredicate.serializedClear)
        RETURNING seq, job_id, job_name, revision, slot, manual, attempt, max_attempts, not_before
        """

    /// Renew, answering whether a cancel was requested; bind lease, id, token. No row: the claim was lost.
    static let renewSQL = """
        UPDATE ticket SET lease_expires_at = ?
        WHERE id = ? AND claim_token = ? AND \(TicketPredicate.running)
        RETURNING cancel_requested
        """

    /// The precondition of finish and hand back: the claim holder's own token on a running ticket (a zombie's
    /// finds nothing). Bind id, token.
    static let heldSQL = """
        SELECT seq, job_id, attempt, max_attempts, cancel_requested FROM ticket
        WHERE id = ? AND claim_token = ? AND \(TicketPredicate.running)
        """

    /// The precondition of expire: running tickets whose lease ended. Bind now, limit.
    static let expiredSQL = """
        SELECT seq, id, job_id, attempt, max_attempts, cancel_requested FROM ticket
        WHERE \(TicketPredicate.running) AND lease_expires_at <= ? LIMIT ?
        """

    /// Misfire: pending tickets past their start deadline are skipped. A catch-up `latest` ticket's deadline counts
    /// only once a newer slot ticket of its job exists. Bind now, now.
    static let misfireSQL = """
        UPDATE ticket SET state = \(TicketState.skipped.sqlLiteral), reason = '\(TicketReason.misfire.rawValue)',
            finished_at = ?, detail = '\(TicketPredicate.misfireDetail)'
        WHERE \(TicketPredicate.misfirable) AND deadline <= ?
          AND (deadline_if_newer = 0 OR EXISTS (
                SELECT 1 FROM ticket AS newer
                WHERE newer.job_id = ticket.job_id AND newer.manual = 0 AND newer.slot > ticket.slot))
        """

    /// Misfire, answering how many tickets it skipped.
    static func misfire(_ db: Database, now: Timestamp) throws -> Int {
        try db.execute(sql: misfireSQL, arguments: [now.milliseconds, now.milliseconds])
        return db.changesCount
    }

    /// Cancel of the tickets `scope` selects: the claimable ones end `cancelled`; bind reason, now, then the scope's.
    private static func cancelSQL(_ scope: String) -> String {
        """
        UPDATE ticket SET state = \(TicketState.cancelled.sqlLiteral), reason = ?, finished_at = ?
        WHERE \(scope) AND \(TicketPredicate.claimable)
        """
    }

    /// Cancel of a running ticket: it is asked to stop, seen at its next renew; its finish or expiry ends it.
    private static func requestCancelSQL(_ scope: String) -> String {
        "UPDATE ticket SET cancel_requested = 1 WHERE \(scope) AND \(TicketPredicate.running)"
    }

    /// Cancel of every unfinished ticket of a job (deleted, or its overlap policy replaces them).
    static func cancelUnfinished(_ db: Database, jobID: JobID, reason: TicketReason, now: Timestamp) throws {
        try db.execute(sql: cancelSQL("job_id = ?"), arguments: [reason.rawValue, now.milliseconds, jobID.rawValue])
        try db.execute(sql: requestCancelSQL("job_id = ?"), arguments: [jobID.rawValue])
    }

    /// Cancel of one ticket, answering with it as it now is (attempts included); nil when it is not unfinished.
    static func cancel(_ db: Database, id: TicketID, now: Timestamp) throws -> Ticket? {
        let row =
            try Row.fetchOne(
                db.cachedStatement(sql: cancelSQL("id = ?") + " RETURNING *"),
                arguments: [TicketReason.cancelled.rawValue, now.milliseconds, Codec.blob(id)])
            ?? Row.fetchOne(db.cachedStatement(sql: requestCancelSQL("id = ?") + " RETURNING *"), arguments: [Codec.blob(id)])
        guard let row else { return nil }
        var ticket = try self.ticket(row)
        ticket.attempts = try attempts(db, seq: row["seq"])
        return ticket
    }

    /// Finish with `failed` at once, for the attempt just claimed on a ticket whose job revision this build cannot
    /// read: another attempt could not read it either.
    static func failUnreadable(_ db: Database, seq: Int64, jobID: String, attempt: Int, detail: String, now: Timestamp) throws {
        try db.execute(
            sql: """
                UPDATE ticket SET state = \(TicketState.failed.sqlLiteral), reason = ?, detail = ?, finished_at = ?,
                    claim_token = NULL, lease_expires_at = NULL
                WHERE seq = ?
                """,
            arguments: [TicketReason.specUnreadable.rawValue, detail, now.milliseconds, seq])
        try db.execute(
            sql: "UPDATE attempt SET finished_at = ?, outcome = ?, output = ? WHERE ticket_seq = ? AND number = ?",
            arguments: [now.milliseconds, AttemptOutcome.failed.rawValue, detail, seq, attempt])
        try db.execute(sql: "UPDATE job SET last_failure_at = ? WHERE id = ?", arguments: [now.milliseconds, jobID])
    }
}
