import BatonCore
import BatonStore
import BatonTestSupport
import Foundation
import Testing

extension EndToEndTests {
    /// Guarantee §10.4 for a leader that is not dead but frozen (GC pause, VM stall, SIGSTOP): it must be
    /// replaced after its lease runs out, and when it wakes up it must change nothing and step down.
    @Suite("Leader stall", .serialized, .timeLimit(.minutes(2)))
    struct LeaderStallTests {
        static let ttl: Duration = .seconds(3)

        @Test("A SIGSTOPped leader is replaced; after SIGCONT its stale writes change nothing and it steps down", arguments: Backend.allCases)
        func stoppedLeader(backend: Backend) async throws {
            let cluster = try await E2ECluster(backend)
            cluster.reserveSchedulers(["sched-a", "sched-b"])
            let a = try cluster.scheduler("sched-a", leaseTTL: "3s")
            let b = try cluster.scheduler("sched-b", leaseTTL: "3s")
            try cluster.executor("exec-1")
            let leases = cluster.leases
            let job = try await cluster.jobs.create(
                JobSpec(
                    name: "tick", schedule: ScheduleSpec(.every(.seconds(1))), action: .noop,
                    policy: JobPolicy(overlap: .allow, misfireGrace: .minutes(5))),
                now: wallNow())

            try #require(
                try await eventually(timeout: .seconds(20)) { try await cluster.tickets("tick").filter { $0.state == .succeeded }.count >= 3 },
                "no leader ticketed\n\(cluster.logs())")
            let first = try #require(try await leases.current())
            let (leader, standby) = first.holder == "sched-a" ? (a, b) : (b, a)
            let steppedDownBefore = leader.log.components(separatedBy: "stepped down").count

            // Freeze the leader for 2×TTL, measured from the stop. A process frozen inside a write transaction
            // stalls the writers that need its locks (SQLite's one write lock; on PostgreSQL the lease row, until
            // the server's idle-in-transaction timeout ends its session); that is a property of the storage, not
            // of the lease under test. So the freeze must not land inside one: if the write side is held just
            // after the stop, resume the leader and freeze it again.
            var frozenOutsideWrite = false
            for _ in 1...5 where !frozenOutsideWrite {
                leader.signal(SIGSTOP)
                frozenOutsideWrite = try await cluster.database.writeSideIsFree()
                if !frozenOutsideWrite {
                    leader.signal(SIGCONT)
                    try await hold(.milliseconds(50))  // let it finish its transaction before freezing again
                }
            }
            try #require(frozenOutsideWrite, "the leader was inside a write transaction at every attempt to freeze it")
            let stoppedAt = ContinuousClock.now
            let tookOver = try await eventually(timeout: Self.ttl * 3) { try await leases.current()?.holder == standby.role }
            let failover = ContinuousClock.now - stoppedAt
            #expect(tookOver, "the standby never took the lease\n\(cluster.logs())")
            // TTL + 2 s (CONTRACT §10.4), plus the standby's renewal period and this loop's polling.
            #expect(failover <= Self.ttl + .seconds(3), "takeover took \(failover)")
            let second = try #require(try await leases.current())
            #expect(second.holder == standby.role)
            #expect(second.epoch == first.epoch + 1)
            let remaining = Self.ttl * 2 - (ContinuousClock.now - stoppedAt)
            try await hold(remaining)  // the stall is the subject: the leader stays stopped for 2 × TTL

            leader.signal(SIGCONT)
            // The woken leader notices it lost the lease and says so, while the new holder keeps it.
            let steppedDown = await eventually(timeout: .seconds(10)) {
                leader.log.components(separatedBy: "stepped down").count > steppedDownBefore
            }
            #expect(steppedDown, "the resumed leader never logged stepping down\n\(leader.log.suffix(3000))")
            var holders: Set<String> = []
            try await observe(for: Self.ttl, every: .milliseconds(100)) {
                if let lease = try await leases.current() { holders.insert("\(lease.holder)@\(lease.epoch)") }
            }
            #expect(holders == ["\(standby.role)@\(second.epoch)"], "the lease changed hands after SIGCONT: \(holders)")

            // The new leader keeps ticketing and dispatching.
            let before = try await cluster.tickets("tick").count
            #expect(try await eventually(timeout: .seconds(10)) {
                let now = try await cluster.tickets("tick")
                return now.count >= before + 2 && now.filter { $0.epoch == second.epoch && $0.state == .succeeded }.count >= 2
            })
            let resumedAlive = leader.isRunning
            await cluster.stopAll()
            #expect(resumedAlive, "the resumed scheduler exited\n\(leader.log.suffix(3000))")

            // Stale writes changed nothing: no ticket of the old epoch was committed after the new epoch's first one.
            let stale = try await cluster.database.ticketsWritten(epoch: first.epoch, after: second.epoch)
            #expect(stale == 0, "\(stale) tickets of the deposed epoch \(first.epoch) were written after the takeover")
            #expect(try await cluster.duplicateSlots().isEmpty)
            let tickets = try await cluster.tickets("tick")
            #expect(Set(tickets.compactMap(\.epoch)) == [first.epoch, second.epoch])

            // One ticket per slot, no gap across the stall, and the watermark is the newest slot ticketed.
            let slots = tickets.map(\.slot).sorted()
            #expect(Set(slots).count == slots.count)
            for (index, slot) in slots.enumerated() where slot != job.createdAt + .seconds(Int64(index + 1)) {
                Issue.record("slot #\(index + 1) is \(slot), expected \(job.createdAt + .seconds(Int64(index + 1)))")
                break
            }
            let final = try #require(try await cluster.job("tick"))
            #expect(final.watermark == slots.last, "watermark \(final.watermark), newest slot \(String(describing: slots.last))")
        }
    }
}
