import BatonTestSupport
import BatonCore
import BatonStore
import Foundation
import Testing

/// Real `baton scheduler` processes on one database, SQLite or PostgreSQL (issue: scheduler HA).
@Suite("Scheduler processes", .serialized, .timeLimit(.minutes(2)))
struct SchedulerFailoverTests {
    func scheduler(_ name: String, _ database: TestDatabase, workspace: Workspace, ttl: String = "3s") throws -> BatonProcess {
        try BatonProcess(
            ["scheduler"],
            environment: [
                "BATON_DB": database.url, "BATON_DISPATCH_BIND": "tcp://127.0.0.1:\(freePort())",
                "BATON_LEASE_TTL": ttl, "BATON_SCHEDULER_ID": name,
            ],
            directory: workspace.directory, name: name)
    }

    /// Slots of the job's tickets, and whether any slot appears twice.
    func slots(_ database: TestDatabase, job: String) async throws -> [Timestamp] {
        let page = try await database.tickets.list(TicketFilter(jobName: job), limit: 1000, cursor: nil)
        return page.items.map(\.slot).sorted()
    }

    @Test(arguments: Backend.allCases)
    func oneLeaderWritesOneTicketPerSecondAndAStandbyTakesOverAfterSIGKILL(backend: Backend) async throws {
        let workspace = try Workspace()
        let database = try await TestDatabase(backend, workspace: workspace)
        let spec = JobSpec(
            name: "tick", schedule: ScheduleSpec(.every(.seconds(1))), action: .noop,
            policy: JobPolicy(overlap: .allow, misfireGrace: .minutes(5)))
        _ = try await database.jobs.create(spec, now: SystemWallClock().now())

        let a = try scheduler("sched-a", database, workspace: workspace)
        let b = try scheduler("sched-b", database, workspace: workspace)
        let leases = database.leases

        // Exactly one leader, and it writes about one ticket per second.
        #expect(try await eventually(timeout: .seconds(20)) { try await leases.current().map { ["sched-a", "sched-b"].contains($0.holder) } ?? false })
        let first = try #require(try await leases.current())
        #expect(try await eventually(timeout: .seconds(10)) { try await slots(database, job: "tick").count >= 3 })
        let standbys = try await database.nodes.schedulers(seenSince: SystemWallClock().now() - .seconds(5))
        #expect(Set(standbys.map(\.id)) == ["sched-a", "sched-b"])

        // SIGKILL the leader: the standby leads within TTL + 2 s, with a higher epoch.
        let (leader, standby) = first.holder == "sched-a" ? (a, b) : (b, a)
        leader.signal(SIGKILL)
        await leader.waitForExit()
        let killedAt = ContinuousClock.now
        #expect(try await eventually(timeout: .seconds(8)) { try await leases.current()?.holder == standby.role })
        let failover = ContinuousClock.now - killedAt
        #expect(failover <= .seconds(5), "failover took \(failover)")
        let second = try #require(try await leases.current())
        #expect(second.epoch == first.epoch + 1)

        // The new leader keeps ticketing, and no slot is missing or duplicated across the takeover.
        let before = try await slots(database, job: "tick").count
        #expect(try await eventually(timeout: .seconds(10)) { try await slots(database, job: "tick").count >= before + 3 })
        let all = try await slots(database, job: "tick")
        #expect(Set(all).count == all.count)
        for (earlier, later) in zip(all, all.dropFirst()) {
            #expect(later - earlier == .seconds(1), "gap between \(earlier) and \(later)")
        }

        // Graceful shutdown releases the lease at once.
        standby.signal(SIGTERM)
        #expect(await standby.waitForExit() == 0, "log: \(standby.log.suffix(2000))")
        let released = try #require(try await leases.current())
        #expect(released.leaseExpiresAt <= SystemWallClock().now())
    }

    @Test(arguments: Backend.allCases)
    func threeSchedulersStillWriteOneTicketPerSlot(backend: Backend) async throws {
        let workspace = try Workspace()
        let database = try await TestDatabase(backend, workspace: workspace)
        let spec = JobSpec(
            name: "triple", schedule: ScheduleSpec(.every(.seconds(1))), action: .noop,
            policy: JobPolicy(overlap: .allow, misfireGrace: .minutes(5)))
        let job = try await database.jobs.create(spec, now: SystemWallClock().now())
        let schedulers = try (1...3).map { try scheduler("s\($0)", database, workspace: workspace) }
        #expect(try await eventually(timeout: .seconds(20)) { try await slots(database, job: "triple").count >= 5 })
        for process in schedulers { process.signal(SIGTERM) }
        for process in schedulers { #expect(await process.waitForExit() == 0) }
        let all = try await slots(database, job: "triple")
        #expect(Set(all).count == all.count)
        // Slots are exactly one second apart from the job's creation: one ticket per slot, none skipped.
        for (index, slot) in all.enumerated() {
            #expect(slot == job.createdAt + .seconds(Int64(index + 1)))
        }
    }
}
