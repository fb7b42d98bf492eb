import BatonCore
import BatonStore
import Foundation
import Testing

@Suite("Job store")
struct JobStoreTests {
    @Test(arguments: StoreBackend.all)
    func createGetAndNameConflict(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        let job = try await store.jobs.create(StoreFixture.spec("a"), now: StoreFixture.t0)
        #expect(job.revision == 1)
        #expect(job.state == .active)
        #expect(job.nextFireAt == StoreFixture.t0 + .seconds(1))
        #expect(try await store.jobs.job(named: "a") == job)
        await #expect(throws: StoreError(.conflict, "a job named \"a\" already exists")) {
            try await store.jobs.create(StoreFixture.spec("a"), now: StoreFixture.t0)
        }
    }

    @Test(arguments: StoreBackend.all)
    func putCreatesThenReplacesAndHonoursIfMatch(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        let (created, wasCreated) = try await store.jobs.put(StoreFixture.spec("b"), ifRevision: nil, now: StoreFixture.t0)
        #expect(wasCreated)
        let (replaced, again) = try await store.jobs.put(
            StoreFixture.spec("b", every: .minutes(1)), ifRevision: 1, now: StoreFixture.t0 + .seconds(5))
        #expect(!again)
        #expect(replaced.id == created.id)
        #expect(replaced.revision == 2)
        // The old revision is kept: tickets written for it still run its action.
        #expect(try await store.jobs.job(id: created.id, revision: 1)?.schedule.kind == .every(.seconds(1)))
        #expect(try await store.jobs.job(id: created.id, revision: 2)?.schedule.kind == .every(.minutes(1)))
        do {
            _ = try await store.jobs.put(StoreFixture.spec("b"), ifRevision: 1, now: StoreFixture.t0)
            Issue.record("a stale If-Match must be refused")
        } catch {
            #expect(error.code == .revisionMismatch)
        }
    }

    @Test(arguments: StoreBackend.all)
    func resumeMovesTheWatermarkSoPausedSlotsNeverRun(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("p"), now: StoreFixture.t0)
        let paused = try await store.jobs.setPaused(true, name: "p", ifRevision: nil, now: StoreFixture.t0 + .seconds(2))
        #expect(paused.state == .paused)
        let resumed = try await store.jobs.setPaused(false, name: "p", ifRevision: nil, now: StoreFixture.t0 + .seconds(60))
        #expect(resumed.state == .active)
        #expect(resumed.watermark == StoreFixture.t0 + .seconds(60))
        #expect(resumed.nextFireAt == StoreFixture.t0 + .seconds(61))
    }

    @Test(arguments: StoreBackend.all)
    func listPaginatesByNameAndFiltersByLabel(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        for name in ["c1", "c2", "c3", "c4", "c5"] {
            var spec = StoreFixture.spec(name)
            spec.labels = ["team": name == "c3" ? "billing" : "ops"]
            _ = try await store.jobs.create(spec, now: StoreFixture.t0)
        }
        let first = try await store.jobs.list(limit: 2, after: nil, label: nil, paused: nil)
        #expect(first.items.map(\.name) == ["c1", "c2"])
        let second = try await store.jobs.list(limit: 2, after: first.nextCursor, label: nil, paused: nil)
        #expect(second.items.map(\.name) == ["c3", "c4"])
        let third = try await store.jobs.list(limit: 2, after: second.nextCursor, label: nil, paused: nil)
        #expect(third.items.map(\.name) == ["c5"])
        #expect(third.nextCursor == nil)
        let billing = try await store.jobs.list(limit: 10, after: nil, label: ("team", "billing"), paused: nil)
        #expect(billing.items.map(\.name) == ["c3"])
        _ = try await store.jobs.setPaused(true, name: "c2", ifRevision: 1, now: StoreFixture.t0 + .seconds(1))
        #expect(try await store.jobs.list(limit: 10, after: nil, label: nil, paused: true).items.map(\.name) == ["c2"])
        #expect(try await store.jobs.list(limit: 10, after: nil, label: nil, paused: false).items.map(\.name) == ["c1", "c3", "c4", "c5"])
    }

    /// A spec may carry U+0000 in any string (JSON writes it `\u0000`), which PostgreSQL's `jsonb` refuses: one such
    /// job must not break the label filter for every other job.
    @Test(arguments: StoreBackend.all)
    func aNULInOneSpecDoesNotBreakTheLabelFilter(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        var odd = JobSpec(
            name: "odd", schedule: ScheduleSpec(.every(.seconds(1))),
            action: .http(HTTPAction(method: "POST", url: "http://127.0.0.1:9/x", body: "a\u{0}b")))
        odd.labels = ["team": "billing"]
        _ = try await store.jobs.create(odd, now: StoreFixture.t0)
        var plain = StoreFixture.spec("plain")
        plain.labels = ["team": "ops"]
        _ = try await store.jobs.create(plain, now: StoreFixture.t0)
        let ops = try await store.jobs.list(limit: 10, after: nil, label: ("team", "ops"), paused: nil)
        #expect(ops.items.map(\.name) == ["plain"])
        let billing = try await store.jobs.list(limit: 10, after: nil, label: ("team", "billing"), paused: nil)
        #expect(billing.items.map(\.name) == ["odd"])
        #expect(try await store.jobs.job(named: "odd")?.spec == odd)
    }

    /// `If-Match` on pause and delete, and both refused for a job that does not exist.
    @Test(arguments: StoreBackend.all)
    func pauseAndDeleteHonourIfMatchAndNeedTheJob(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        _ = try await store.jobs.create(StoreFixture.spec("m"), now: StoreFixture.t0)
        for attempt in [
            { () async throws -> Void in _ = try await store.jobs.setPaused(true, name: "m", ifRevision: 7, now: StoreFixture.t0) },
            { () async throws -> Void in try await store.jobs.delete(name: "m", ifRevision: 7, now: StoreFixture.t0) },
        ] {
            do {
                try await attempt()
                Issue.record("a stale If-Match must be refused")
            } catch {
                #expect((error as? StoreError)?.code == .revisionMismatch)
            }
        }
        #expect(try await store.jobs.job(named: "m")?.revision == 1)
        for attempt in [
            { () async throws -> Void in _ = try await store.jobs.setPaused(true, name: "none", ifRevision: nil, now: StoreFixture.t0) },
            { () async throws -> Void in try await store.jobs.delete(name: "none", ifRevision: nil, now: StoreFixture.t0) },
        ] {
            do {
                try await attempt()
                Issue.record("a missing job must be refused")
            } catch {
                #expect((error as? StoreError)?.code == .notFound)
            }
        }
        try await store.jobs.delete(name: "m", ifRevision: 1, now: StoreFixture.t0)
        #expect(try await store.jobs.job(named: "m") == nil)
    }

    @Test(arguments: StoreBackend.all)
    func deleteCancelsPendingTicketsAndFreesTheName(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        let job = try await store.jobs.create(StoreFixture.spec("d"), now: StoreFixture.t0)
        let (ticket, _) = try await store.tickets.trigger(jobName: "d", idempotencyKey: "k", now: StoreFixture.t0)
        try await store.jobs.delete(name: "d", ifRevision: nil, now: StoreFixture.t0 + .seconds(1))
        #expect(try await store.tickets.ticket(ticket.id)?.state == .cancelled)
        #expect(try await store.jobs.job(named: "d") == nil)
        let again = try await store.jobs.create(StoreFixture.spec("d"), now: StoreFixture.t0 + .seconds(2))
        #expect(again.id != job.id)
        do {
            _ = try await store.tickets.trigger(jobName: "gone", idempotencyKey: nil, now: StoreFixture.t0)
            Issue.record("a trigger on an unknown job must be refused")
        } catch {
            #expect(error.code == .notFound)
        }
    }
}
