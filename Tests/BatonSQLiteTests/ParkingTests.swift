import BatonCore
import Foundation
import Testing

@testable import BatonSQLite
import BatonStore

/// One job whose stored spec this build cannot read or plan must not stop the others (issue 12, item 3): the tick
/// parks it with a visible reason, the job stays readable and deletable, and a claim batch fails only its ticket.
@Suite("Parking jobs the scheduler cannot plan")
struct ParkingTests {
    let t0 = StoreFixture.t0

    /// Overwrites a job's stored spec (its row and its revision), as a newer gateway or a damaged file would leave it.
    func storeRawSpec(_ json: String, job: Job, in store: StoreFixture) async throws {
        try await store.database.pool.write { db in
            try db.execute(sql: "UPDATE job SET spec = ? WHERE id = ?", arguments: [json, job.id.rawValue])
            try db.execute(
                sql: "UPDATE job_revision SET spec = ? WHERE job_id = ? AND revision = ?",
                arguments: [json, job.id.rawValue, job.revision])
        }
    }

    @Test func aTickTicketsEveryReadableJobAndParksTheOnesItCannotPlan() async throws {
        let store = try StoreFixture()
        let allow = JobPolicy(overlap: .allow)
        let good = try await store.jobs.create(StoreFixture.spec("good", policy: allow), now: t0)
        let future = try await store.jobs.create(StoreFixture.spec("future", policy: allow), now: t0)
        let corrupt = try await store.jobs.create(StoreFixture.spec("corrupt", policy: allow), now: t0)
        let mars = try await store.jobs.create(
            JobSpec(name: "mars", schedule: ScheduleSpec(.cron("* * * * * *")), action: .noop, policy: allow), now: t0)
        // A field from a newer gateway (rolling upgrade), a damaged spec, and a zone this host's tzdata lacks.
        try await storeRawSpec(
            #"{"name":"future","futureField":1,"schedule":{"every":"1s"},"action":{"noop":{}},"policy":{"overlap":"allow"}}"#,
            job: future, in: store)
        try await storeRawSpec(#"{"name":"corrupt","schedule":{"ev"#, job: corrupt, in: store)
        try await storeRawSpec(
            #"{"name":"mars","schedule":{"cron":"* * * * * *","timezone":"Mars/Olympus_Mons"},"action":{"noop":{}}}"#,
            job: mars, in: store)

        let fence = try await store.lead(now: t0)
        let report = try await store.scheduler.tick(fence, now: t0 + .milliseconds(2_500), lookahead: .zero, limit: 100)
        let written = Dictionary(grouping: report.written, by: \.jobID).mapValues { $0.map(\.slot) }
        #expect(written.count == 2)
        #expect(written[future.id] == [t0 + .seconds(1), t0 + .seconds(2)])
        #expect(Set(report.parked.map(\.name)) == ["corrupt", "mars"])
        let corruptReason = try #require(report.parked.first { $0.name == "corrupt" }?.reason)
        #expect(corruptReason.contains("is not valid JSON"))
        let marsReason = try #require(report.parked.first { $0.name == "mars" }?.reason)
        #expect(marsReason.contains("schedule.timezone"))
        #expect(marsReason.contains("Mars/Olympus_Mons"))

        // Visible to every process reading the file, with the reason the scheduler recorded.
        let other = SQLiteJobStore(try store.secondConnection())
        let parkedMars = try #require(try await other.job(named: "mars"))
        #expect(parkedMars.state == .parked)
        #expect(parkedMars.parking == Parking(reason: marsReason, specReadable: true))
        #expect(parkedMars.spec.schedule.timezone == "Mars/Olympus_Mons")
        let parkedCorrupt = try #require(try await other.job(named: "corrupt"))
        #expect(parkedCorrupt.state == .parked)
        #expect(parkedCorrupt.parking == Parking(reason: corruptReason, specReadable: false))
        #expect(try await other.job(named: "good")?.state == .active)
        #expect(try await other.list(limit: 10, after: nil, label: nil, paused: nil).items.map(\.name) == ["corrupt", "future", "good", "mars"])
        #expect(try await store.scheduler.parkedJobCount() == 2)

        // Parked once: later ticks do not look at them again, and the other jobs keep going.
        let next = try await store.scheduler.tick(fence, now: t0 + .milliseconds(3_500), lookahead: .zero, limit: 100)
        #expect(next.parked.isEmpty)
        #expect(next.written.count == 2)

        // A parked job is deleted like any other; a new revision with a spec this build reads leaves parked.
        try await store.jobs.delete(name: "corrupt", ifRevision: nil, now: t0 + .seconds(4))
        let replaced = try await store.jobs.put(
            JobSpec(name: "mars", schedule: ScheduleSpec(.every(.seconds(1))), action: .noop, policy: allow), ifRevision: nil,
            now: t0 + .seconds(4))
        #expect(replaced.job.state == .active)
        #expect(replaced.job.parking == nil)
        #expect(try await store.scheduler.parkedJobCount() == 0)
        let after = try await store.scheduler.tick(fence, now: t0 + .milliseconds(5_500), lookahead: .zero, limit: 100)
        // Its slots since the parking are within misfireGrace: they run, as after downtime.
        #expect(Set(after.written.map(\.jobID)) == [good.id, future.id, mars.id])
    }

    /// What an older build cannot read, the job store still answers for: pause, resume and trigger need the spec
    /// and refuse with a conflict (409), never a storage failure.
    @Test func operationsThatNeedAnUnreadableSpecAreConflicts() async throws {
        let store = try StoreFixture()
        let job = try await store.jobs.create(StoreFixture.spec("broken"), now: t0)
        try await storeRawSpec("[1, 2", job: job, in: store)
        do {
            _ = try await store.jobs.setPaused(true, name: "broken", ifRevision: nil, now: t0)
            Issue.record("pausing rewrites the spec, which cannot be read")
        } catch {
            #expect(error.code == .conflict)
        }
        #expect(try await store.jobs.job(named: "broken")?.state == .parked)
        do {
            _ = try await store.tickets.trigger(jobName: "broken", idempotencyKey: nil, now: t0)
            Issue.record("a trigger needs the job's spec")
        } catch {
            #expect(error.code == .conflict)
        }
    }

    /// A scheduler that can read what its predecessor could not (a newer build, the zone installed) releases the
    /// job when it starts leading: due at once, planned from its watermark.
    @Test func aNewLeaderReleasesParkedJobsItCanPlan() async throws {
        let store = try StoreFixture()
        let job = try await store.jobs.create(StoreFixture.spec("released", policy: JobPolicy(overlap: .allow)), now: t0)
        try await store.database.pool.write { db in
            try db.execute(
                sql: "UPDATE job SET due_at = NULL, parked_revision = revision, parked_reason = 'an older build could not read it' WHERE id = ?",
                arguments: [job.id.rawValue])
        }
        let fence = try await store.lead(now: t0)
        #expect(try await store.scheduler.tick(fence, now: t0 + .seconds(2), lookahead: .zero, limit: 100).written.isEmpty)
        #expect(try await store.jobs.job(named: "released")?.state == .parked)

        let (released, stillParked) = try await store.scheduler.releaseParked(fence, now: t0 + .seconds(2))
        #expect(released.map(\.name) == ["released"])
        #expect(stillParked == 0)
        #expect(try await store.jobs.job(named: "released")?.state == .active)
        let report = try await store.scheduler.tick(fence, now: t0 + .seconds(2), lookahead: .zero, limit: 100)
        #expect(report.written.map(\.slot) == [t0 + .seconds(1), t0 + .seconds(2)])
    }

    @Test func aClaimBatchFailsOnlyTheTicketWhoseRevisionCannotBeRead() async throws {
        let store = try StoreFixture()
        _ = try await store.jobs.create(StoreFixture.spec("readable"), now: t0)
        let broken = try await store.jobs.create(StoreFixture.spec("unreadable"), now: t0)
        let good = try await store.tickets.trigger(jobName: "readable", idempotencyKey: "k", now: t0).ticket.id
        let bad = try await store.tickets.trigger(jobName: "unreadable", idempotencyKey: "k", now: t0).ticket.id
        // The ticket pins a revision a newer gateway wrote, with an action kind this build does not have. (A new
        // revision, because this process has already read and cached revision 1.)
        try await store.database.pool.write { db in
            try db.execute(
                sql: "INSERT INTO job_revision (job_id, revision, spec, created_at) VALUES (?, 2, ?, 0)",
                arguments: [broken.id.rawValue, #"{"name":"unreadable","schedule":{"every":"1s"},"action":{"grpc":{}}}"#])
            try db.execute(sql: "UPDATE ticket SET revision = 2 WHERE id = ?", arguments: [Data(bad.bytes)])
        }

        let result = try await store.claims.completeAndClaim(
            [], claim: [bad, good], executor: "e1", now: t0 + .seconds(1), leaseTTL: .seconds(30))
        #expect(result.won.map(\.id) == [good])
        #expect(result.unreadable.map(\.id) == [bad])
        #expect(try await store.tickets.ticket(good)?.state == .running)
        let failed = try #require(try await store.tickets.ticket(bad))
        #expect(failed.state == .failed)
        #expect(failed.reason == .specUnreadable)
        #expect(failed.detail?.contains("needs one of http, command or noop") == true)
        #expect(failed.finishedAt == t0 + .seconds(1))
        #expect(failed.attempts?.map(\.outcome) == [.failed])
        // Failed once, for good: nothing left to claim.
        #expect(try await store.claims.claim([bad], executor: "e2", now: t0 + .seconds(2), leaseTTL: .seconds(30)).isEmpty)
    }
}
