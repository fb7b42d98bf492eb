import BatonCore
import BatonStore
import Foundation
import PostgresNIO

/// Claims, heartbeats and completions, each batch one conditional statement over `unnest` of the batch's arrays
/// (`= ANY` with the claim token beside each id): one round trip for the whole batch, and a row another writer
/// moved first is simply not matched.
public struct PostgresClaimStore: ClaimStore {
    let database: PostgresDatabase

    init(_ database: PostgresDatabase) { self.database = database }

    public func completeAndClaim(
        _ completions: [Completion], claim ids: [TicketID], executor: String, now: Timestamp, leaseTTL: TimeSpan
    ) async throws(StoreError) -> (accepted: [TicketID: Bool], won: [ClaimedTicket], unreadable: [UnreadableClaim]) {
        guard !ids.isEmpty || !completions.isEmpty else { return ([:], [], []) }
        // Fresh tokens per attempt of the transaction would do as well; chosen once, they are simply the same.
        let tokens = ids.map { _ in ClaimToken.random() }
        return try await database.transaction(ids.isEmpty ? "complete" : completions.isEmpty ? "claim" : "complete and claim") {
            connection in
            let accepted = try await complete(connection, completions, now: now)
            let (won, unreadable) = try await claim(connection, ids, tokens: tokens, executor: executor, now: now, leaseTTL: leaseTTL)
            return (accepted, won, unreadable)
        }
    }

    /// One UPDATE for the batch; the rows it changed are the claims won, and their attempts are inserted by the same
    /// statement. Each won row comes with its revision's spec (parsed once per process per revision).
    private func claim(
        _ connection: PostgresConnection, _ ids: [TicketID], tokens: [ClaimToken], executor: String, now: Timestamp,
        leaseTTL: TimeSpan
    ) async throws -> (won: [ClaimedTicket], unreadable: [UnreadableClaim]) {
        guard !ids.isEmpty else { return ([], []) }
        let logger = database.logger
        let lease = now + leaseTTL
        let rows = try await connection.query(
            """
            WITH won AS (
                UPDATE ticket SET state = \(unescaped: TicketState.running.sqlLiteral), claim_token = c.token,
                    executor = \(executor), lease_expires_at = \(lease.milliseconds), attempt = ticket.attempt + 1,
                    started_at = \(now.milliseconds)
                FROM unnest(\(ids.map(PostgresCodec.bytes))::bytea[], \(tokens.map(PostgresCodec.bytes))::bytea[]) AS c(id, token)
                WHERE ticket.id = c.id AND \(unescaped: TicketPredicate.claimable) AND ticket.not_before <= \(now.milliseconds)
                  AND \(unescaped: PostgresTicketRows.serializedClear)
                RETURNING ticket.seq, ticket.id, ticket.job_id, ticket.job_name, ticket.revision, ticket.slot, ticket.manual,
                    ticket.attempt, ticket.max_attempts, ticket.not_before, ticket.claim_token
            ), started AS (
                INSERT INTO attempt (ticket_seq, number, executor, started_at)
                SELECT seq, attempt, \(executor), \(now.milliseconds) FROM won
            )
            SELECT won.*, r.spec FROM won LEFT JOIN job_revision AS r ON r.job_id = won.job_id AND r.revision = won.revision
            """, logger: logger
        ).rows()
        let order = Dictionary(ids.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var claimed: [(Int, ClaimedTicket)] = []
        var unreadable: [UnreadableClaim] = []
        for row in rows {
            guard let id = PostgresCodec.ticketID(try row.value("id", ByteBuffer.self)),
                let token = try row.optional("claim_token", ByteBuffer.self)
            else { throw StoreError(.corrupt, "a claimed ticket row without its id or token") }
            let jobID: String = try row.value("job_id")
            let jobName: String = try row.value("job_name")
            let revision: Int64 = try row.value("revision")
            let attempt: Int = try row.value("attempt")
            let specText = try row.optional("spec", String.self)
            let spec: JobSpec
            do {
                spec = try database.caches.specs.value(for: RevisionKey(job: jobID, revision: revision)) {
                    guard let specText else { throw StoreError(.corrupt, "revision \(revision) of job \(jobName) is missing") }
                    return try StoredSpec.decode(specText)
                }
            } catch let error as StoreError where error.code == .corrupt {
                // This ticket alone: throwing here would roll back the whole batch, and the leader would offer the
                // same ticket again and again. Another attempt by this build cannot read it either, so it fails now.
                let detail = "executor \(executor) cannot run revision \(revision): \(error.message)"
                try await failUnreadable(
                    connection, seq: try row.value("seq"), jobID: jobID, attempt: attempt, detail: detail, now: now)
                unreadable.append(UnreadableClaim(id: id, jobName: jobName, revision: revision, reason: detail))
                continue
            }
            claimed.append(
                (
                    order[id] ?? 0,
                    ClaimedTicket(
                        id: id, jobID: JobID(rawValue: jobID), jobName: jobName, revision: revision, slot: try row.timestamp("slot"),
                        notBefore: try row.timestamp("not_before"), manual: try row.value("manual"), attempt: attempt,
                        maxAttempts: try row.value("max_attempts"), token: ClaimToken(bytes: Array(token.readableBytesView)),
                        leaseExpiresAt: lease, spec: spec)
                ))
        }
        // In the order asked for, as the SQLite store answers (one UPDATE per id, in order).
        return (claimed.sorted { $0.0 < $1.0 }.map(\.1), unreadable)
    }

    /// Finish with `failed` at once, for the attempt just claimed on a ticket whose job revision this build cannot
    /// read: another attempt could not read it either.
    private func failUnreadable(
        _ connection: PostgresConnection, seq: Int64, jobID: String, attempt: Int, detail: String, now: Timestamp
    ) async throws {
        try await connection.query(
            """
            WITH failed AS (
                UPDATE ticket SET state = \(unescaped: TicketState.failed.sqlLiteral), reason = \(TicketReason.specUnreadable.rawValue),
                    detail = \(detail), finished_at = \(now.milliseconds), claim_token = NULL, lease_expires_at = NULL
                WHERE seq = \(seq)
            ), ended AS (
                UPDATE attempt SET finished_at = \(now.milliseconds), outcome = \(AttemptOutcome.failed.rawValue), output = \(detail)
                WHERE ticket_seq = \(seq) AND number = \(attempt)
            )
            UPDATE job SET last_failure_at = \(now.milliseconds) WHERE id = \(jobID)
            """, logger: database.logger)
    }

    public func heartbeat(_ claims: [(TicketID, ClaimToken)], now: Timestamp, leaseTTL: TimeSpan) async throws(StoreError) -> [TicketID: HeartbeatResult] {
        guard !claims.isEmpty else { return [:] }
        let lease = now + leaseTTL
        let extended = try await database.transaction("heartbeat") { connection in
            try await connection.query(
                """
                UPDATE ticket SET lease_expires_at = \(lease.milliseconds)
                FROM unnest(\(claims.map { PostgresCodec.bytes($0.0) })::bytea[], \(claims.map { PostgresCodec.bytes($0.1) })::bytea[])
                    AS c(id, token)
                WHERE ticket.id = c.id AND ticket.claim_token = c.token AND \(unescaped: TicketPredicate.running)
                RETURNING ticket.id, ticket.cancel_requested
                """, logger: database.logger
            ).rows().map { row in (PostgresCodec.ticketID(try row.value("id", ByteBuffer.self)), try row.value("cancel_requested", Bool.self)) }
        }
        var results = Dictionary(claims.map { ($0.0, HeartbeatResult.lost) }, uniquingKeysWith: { first, _ in first })
        for case let (id?, cancel) in extended { results[id] = .extended(until: lease, cancelRequested: cancel) }
        return results
    }

    public func complete(_ completions: [Completion], now: Timestamp) async throws(StoreError) -> [TicketID: Bool] {
        guard !completions.isEmpty else { return [:] }
        return try await database.transaction("complete") { connection in try await complete(connection, completions, now: now) }
    }

    /// Each completion is accepted only with the claim's own token on a running ticket (a zombie's is refused). The
    /// held rows are locked first, so an expiry sweeping the same ticket waits, then finds it no longer running.
    private func complete(_ connection: PostgresConnection, _ completions: [Completion], now: Timestamp) async throws -> [TicketID: Bool] {
        guard !completions.isEmpty else { return [:] }
        let held = try await connection.query(
            """
            SELECT ticket.seq, ticket.job_id, ticket.attempt, ticket.max_attempts, ticket.cancel_requested, c.ord
            FROM ticket
            JOIN unnest(\(completions.map { PostgresCodec.bytes($0.id) })::bytea[], \(completions.map { PostgresCodec.bytes($0.token) })::bytea[])
                WITH ORDINALITY AS c(id, token, ord) ON ticket.id = c.id AND ticket.claim_token = c.token
            WHERE \(unescaped: TicketPredicate.running)
            ORDER BY ticket.seq
            FOR UPDATE OF ticket
            """, logger: database.logger
        ).rows()
        var accepted = Dictionary(completions.map { ($0.id, false) }, uniquingKeysWith: { first, _ in first })
        var ended: [EndedAttempt] = []
        var seen: Set<Int64> = []
        for row in held {
            let seq: Int64 = try row.value("seq")
            let index = Int(try row.value("ord", Int64.self)) - 1
            // The same ticket twice in one batch: the first completion ends the attempt, as one at a time would.
            guard completions.indices.contains(index), seen.insert(seq).inserted else { continue }
            let completion = completions[index]
            ended.append(
                try EndedAttempt(
                    row, seq: seq, outcome: completion.outcome, status: completion.status, output: completion.output,
                    retry: completion.retry, finalReason: completion.finalReason, now: now))
            accepted[completion.id] = true
        }
        try await EndedAttempt.write(ended, connection, now: now, logger: database.logger)
        return accepted
    }
}

/// Finish, hand back or expire (``TicketTransition/init(ending:)``): one running attempt ended with `outcome`, and
/// where its ticket goes (``AttemptResolution``). The caller has matched and locked the ticket row.
struct EndedAttempt: Encodable {
    var seq: Int64
    var jobID: String
    var number: Int
    var outcome: AttemptOutcome
    var status: Int?
    var output: String?
    var resolution: AttemptResolution

    /// From a locked row with `job_id`, `attempt`, `max_attempts` and `cancel_requested`.
    init(
        _ row: PostgresRandomAccessRow, seq: Int64, outcome: AttemptOutcome, status: Int?, output: String?, retry: RetryPolicy,
        finalReason: TicketReason?, now: Timestamp
    ) throws {
        self.seq = seq
        self.jobID = try row.value("job_id")
        self.number = try row.value("attempt")
        self.outcome = outcome
        self.status = status
        self.output = output
        self.resolution = AttemptResolution.ending(
            outcome: outcome, attempt: number, maxAttempts: try row.value("max_attempts"),
            cancelRequested: try row.value("cancel_requested"), retry: retry, finalReason: finalReason, now: now)
    }

    /// The row of `jsonb_to_recordset` below; an absent key is NULL.
    private enum CodingKeys: String, CodingKey {
        case seq, number, outcome, status, output, state, reason
        case notBefore = "not_before", finishedAt = "finished_at", handedBack = "handed_back"
    }

    func encode(to encoder: any Encoder) throws {
        var row = encoder.container(keyedBy: CodingKeys.self)
        try row.encode(seq, forKey: .seq)
        try row.encode(number, forKey: .number)
        try row.encode(outcome.rawValue, forKey: .outcome)
        try row.encodeIfPresent(status, forKey: .status)
        try row.encodeIfPresent(output, forKey: .output)
        try row.encode(resolution.state.rawValue, forKey: .state)
        try row.encodeIfPresent(resolution.reason?.rawValue, forKey: .reason)
        try row.encodeIfPresent(resolution.notBefore?.milliseconds, forKey: .notBefore)
        try row.encode(outcome == .handedBack, forKey: .handedBack)
    }

    /// Every ended attempt of a batch in one statement: the batch travels as one JSON array (which, unlike
    /// postgres-nio's arrays, carries NULLs), each ticket moves, its attempt ends (or, handed back, is forgotten
    /// along with the attempt it cost), and each job's last success or failure is written once.
    static func write(_ ended: [EndedAttempt], _ connection: PostgresConnection, now: Timestamp, logger: Logger) async throws {
        guard !ended.isEmpty else { return }
        let json: String
        do {
            json = String(decoding: try JSONEncoder().encode(ended), as: UTF8.self)
        } catch {
            throw StoreError(.internal, "cannot encode ended attempts: \(error)")
        }
        let succeeded = Array(Set(ended.filter { $0.resolution.state == .succeeded }.map(\.jobID)))
        let failed = Array(Set(ended.filter { $0.resolution.state == .failed }.map(\.jobID)))
        try await connection.query(
            """
            WITH u AS (
                SELECT * FROM jsonb_to_recordset(\(json)::jsonb) AS u(seq bigint, number bigint, outcome text, status bigint,
                    output text, state text, reason text, not_before bigint, handed_back boolean)
            ), moved AS (
                UPDATE ticket SET state = u.state, reason = u.reason, not_before = COALESCE(u.not_before, ticket.not_before),
                    finished_at = CASE WHEN \(unescaped: TicketPredicate.isFinal("u.state")) THEN \(now.milliseconds) END,
                    claim_token = NULL, lease_expires_at = NULL,
                    attempt = ticket.attempt - CASE WHEN u.handed_back THEN 1 ELSE 0 END
                FROM u WHERE ticket.seq = u.seq
            ), forgotten AS (
                DELETE FROM attempt USING u WHERE u.handed_back AND attempt.ticket_seq = u.seq AND attempt.number = u.number
            ), jobs AS (
                UPDATE job SET
                    last_success_at = CASE WHEN id = ANY(\(succeeded)::text[]) THEN \(now.milliseconds) ELSE last_success_at END,
                    last_failure_at = CASE WHEN id = ANY(\(failed)::text[]) THEN \(now.milliseconds) ELSE last_failure_at END
                WHERE id = ANY(\(succeeded)::text[]) OR id = ANY(\(failed)::text[])
            )
            UPDATE attempt SET finished_at = \(now.milliseconds), outcome = u.outcome, status = u.status, output = u.output
            FROM u WHERE NOT u.handed_back AND attempt.ticket_seq = u.seq AND attempt.number = u.number
            """, logger: logger)
    }
}
