import BatonCore
import BatonStore
import Foundation
import GRDB
import Synchronization

public struct SQLiteClaimStore: ClaimStore {
    let database: BatonDatabase

    public init(_ database: BatonDatabase) { self.database = database }

    public func completeAndClaim(
        _ completions: [Completion], claim ids: [TicketID], executor: String, now: Timestamp, leaseTTL: TimeSpan
    ) async throws(StoreError) -> (accepted: [TicketID: Bool], won: [ClaimedTicket], unreadable: [UnreadableClaim]) {
        guard !ids.isEmpty || !completions.isEmpty else { return ([:], [], []) }
        return try await StoreError.mapping(ids.isEmpty ? "complete" : completions.isEmpty ? "claim" : "complete and claim") {
            try await database.pool.write { db in
                let accepted = try complete(db, completions, now: now)
                let (won, unreadable) = try claim(db, ids, executor: executor, now: now, leaseTTL: leaseTTL)
                return (accepted, won, unreadable)
            }
        }
    }

    /// One conditional UPDATE per ticket; the rows it changed are the claims won.
    private func claim(
        _ db: Database, _ ids: [TicketID], executor: String, now: Timestamp, leaseTTL: TimeSpan
    ) throws -> (won: [ClaimedTicket], unreadable: [UnreadableClaim]) {
        guard !ids.isEmpty else { return ([], []) }
        var unreadable: [UnreadableClaim] = []
        var claimed: [ClaimedTicket] = []
        claimed.reserveCapacity(ids.count)
        let lease = now + leaseTTL
        let update = try db.cachedStatement(sql: TicketRows.claimSQL)
        let attemptInsert = try db.cachedStatement(
            sql: "INSERT INTO attempt (ticket_seq, number, executor, started_at) VALUES (?, ?, ?, ?)")
        for id in ids {
            let token = ClaimToken.random()
            var won: (seq: Int64, jobID: String, jobName: String, revision: Int64, slot: Int64, manual: Bool, attempt: Int,
                maxAttempts: Int, notBefore: Int64)?
            try update.forEachRawRow(
                [Data(token.bytes), executor, lease.milliseconds, now.milliseconds, Codec.blob(id), now.milliseconds]
            ) { row in
                won = (
                    row.int64(0), row.string(1), row.string(2), row.int64(3), row.int64(4), row.bool(5), Int(row.int64(6)),
                    Int(row.int64(7)), row.int64(8)
                )
            }
            guard let won else { continue }
            try attemptInsert.execute(arguments: [won.seq, won.attempt, executor, now.milliseconds])
            // The process-wide spec cache the job store uses too: a (job, revision) always has the same spec.
            let spec: JobSpec
            do {
                spec = try database.caches.specs.value(for: RevisionKey(job: won.jobID, revision: won.revision)) {
                    guard
                        let json = try String.fetchOne(
                            db, sql: "SELECT spec FROM job_revision WHERE job_id = ? AND revision = ?",
                            arguments: [won.jobID, won.revision])
                    else { throw StoreError(.corrupt, "revision \(won.revision) of job \(won.jobName) is missing") }
                    return try StoredSpec.decode(json)
                }
            } catch let error as StoreError where error.code == .corrupt {
                // This ticket alone: throwing here would roll back the whole batch, and the leader would offer the
                // same ticket again and again. Another attempt by this build cannot read it either, so it fails now.
                let detail = "executor \(executor) cannot run revision \(won.revision): \(error.message)"
                try TicketRows.failUnreadable(db, seq: won.seq, jobID: won.jobID, attempt: won.attempt, detail: detail, now: now)
                unreadable.append(UnreadableClaim(id: id, jobName: won.jobName, revision: won.revision, reason: detail))
                continue
            }
            claimed.append(
                ClaimedTicket(
                    id: id, jobID: JobID(rawValue: won.jobID), jobName: won.jobName, revision: won.revision,
                    slot: Timestamp(milliseconds: won.slot), notBefore: Timestamp(milliseconds: won.notBefore),
                    manual: won.manual, attempt: won.attempt, maxAttempts: won.maxAttempts, token: token,
                    leaseExpiresAt: lease, spec: spec))
        }
        return (claimed, unreadable)
    }

    public func heartbeat(_ claims: [(TicketID, ClaimToken)], now: Timestamp, leaseTTL: TimeSpan) async throws(StoreError) -> [TicketID: HeartbeatResult] {
        guard !claims.isEmpty else { return [:] }
        return try await StoreError.mapping("heartbeat") {
            try await database.pool.write { db in
                let lease = now + leaseTTL
                let statement = try db.cachedStatement(sql: TicketRows.renewSQL)
                var results: [TicketID: HeartbeatResult] = [:]
                for (id, token) in claims {
                    if let cancel = try Bool.fetchOne(
                        statement, arguments: [lease.milliseconds, Codec.blob(id), Data(token.bytes)])
                    {
                        results[id] = .extended(until: lease, cancelRequested: cancel)
                    } else {
                        results[id] = .lost
                    }
                }
                return results
            }
        }
    }

    public func complete(_ completions: [Completion], now: Timestamp) async throws(StoreError) -> [TicketID: Bool] {
        guard !completions.isEmpty else { return [:] }
        return try await StoreError.mapping("complete") {
            try await database.pool.write { db in try complete(db, completions, now: now) }
        }
    }

    /// Each completion is accepted only with the claim's own token on a running ticket (a zombie's is refused).
    private func complete(_ db: Database, _ completions: [Completion], now: Timestamp) throws -> [TicketID: Bool] {
        guard !completions.isEmpty else { return [:] }
        let find = try db.cachedStatement(sql: TicketRows.heldSQL)
        var accepted: [TicketID: Bool] = [:]
        accepted.reserveCapacity(completions.count)
        // Every completion in the batch has the same `now`, so each job's last_success_at / last_failure_at
        // is written once per batch instead of once per ticket (same result, fewer row writes).
        var jobTimes = TicketRows.JobOutcomeTimes()
        for completion in completions {
            var found: (seq: Int64, jobID: String, attempt: Int, maxAttempts: Int, cancelRequested: Bool)?
            try find.forEachRawRow([Codec.blob(completion.id), Data(completion.token.bytes)]) { row in
                found = (row.int64(0), row.string(1), Int(row.int64(2)), Int(row.int64(3)), row.bool(4))
            }
            guard let found else {
                accepted[completion.id] = false
                continue
            }
            _ = try TicketRows.finishAttempt(
                db, seq: found.seq, jobID: found.jobID, attempt: found.attempt, maxAttempts: found.maxAttempts,
                cancelRequested: found.cancelRequested, outcome: completion.outcome, status: completion.status,
                output: completion.output, retry: completion.retry, finalReason: completion.finalReason, now: now,
                jobTimes: &jobTimes)
            accepted[completion.id] = true
        }
        try jobTimes.write(db, now: now)
        return accepted
    }
}
