import BatonCore
import BatonStore
import BatonTestSupport
import Foundation
import Testing

extension EndToEndTests {
    /// CONTRACT §4 catch-up after scheduler downtime, with real processes: the only scheduler is
    /// SIGKILLed, stays down, and is started again.
    @Suite("Catch-up after downtime", .serialized, .timeLimit(.minutes(2)))
    struct CatchupTests {
        /// How the test is shaped, and why it differs from the issue's text:
        ///
        /// - The issue says 30 s of downtime. What makes a slot "missed" is being reached more than
        ///   `misfireGrace` (1 s here) late, so 30 s proves nothing that 8 s does not; the 2–7 missed
        ///   slots per job this leaves are enough to tell `all` (runs every one) from `latest` (runs one)
        ///   from `none` (runs none), and the test stays around 20 s.
        /// - The jobs end (`endAt`) inside the downtime. `latest` runs the newest missed slot only when no
        ///   slot within grace is due at the same time (CONTRACT §4: "and none if a slot within grace is
        ///   also due"); with `every: 1s` and a 1 s grace there always is one on restart, so `latest`
        ///   would look exactly like `none`. Ending the schedule before the restart makes every remaining
        ///   slot a missed one, so each policy's rule is observable exactly and deterministically.
        static let scheduleLength: TimeSpan = .seconds(8)
        static let grace: TimeSpan = .seconds(1)

        @Test("After downtime, catchup all runs every missed slot, latest only the newest, none none", arguments: Backend.allCases)
        func catchupPolicies(backend: Backend) async throws {
            let cluster = try await E2ECluster(backend)
            try cluster.scheduler("sched", leaseTTL: "3s")
            try cluster.executor("exec-1")
            try #require(
                try await eventually(timeout: .seconds(30)) {
                    let live = try await cluster.nodes.executors(seenSince: wallNow() - .seconds(5))
                    return try await cluster.leases.current()?.holder == "sched" && live.count == 1
                }, "cluster did not come up\n\(cluster.logs())")

            let t0 = wallNow()
            let endAt = t0 + Self.scheduleLength
            let policies: [CatchupPolicy] = [.all, .latest, .none]
            var jobs: [CatchupPolicy: Job] = [:]
            for policy in policies {
                jobs[policy] = try await cluster.jobs.create(
                    JobSpec(
                        name: "catchup-\(policy.rawValue)", schedule: ScheduleSpec(.every(.seconds(1)), endAt: endAt),
                        action: .noop, policy: JobPolicy(overlap: .allow, catchup: policy, misfireGrace: Self.grace)),
                    now: t0)
            }
            // The scheduler works before the outage: every job has a run.
            try #require(
                try await eventually(timeout: .seconds(10)) {
                    for policy in policies {
                        let runs = try await cluster.tickets("catchup-\(policy.rawValue)").filter { $0.state == .succeeded }
                        if runs.isEmpty { return false }
                    }
                    return true
                }, "no runs before the outage\n\(cluster.logs())")

            let scheduler = cluster.processes[0]
            scheduler.signal(SIGKILL)
            await scheduler.waitForExit()
            let downAt = ContinuousClock.now
            var watermarks: [CatchupPolicy: Timestamp] = [:]
            for policy in policies { watermarks[policy] = try #require(try await cluster.job("catchup-\(policy.rawValue)")).watermark }
            // At least two slots must fall in the outage, or `all` and `latest` could not be told apart.
            for policy in policies {
                try #require(
                    watermarks[policy]! <= endAt - .seconds(2),
                    "the scheduler was killed too late (watermark \(watermarks[policy]!), schedule ends \(endAt))")
            }

            // Stay down until every remaining slot is past its grace, so all of them are missed on restart.
            let restartAt = endAt + Self.grace + .milliseconds(500)
            let wait = restartAt - wallNow()
            try await hold(wait.duration)  // the downtime is the subject: every remaining slot must pass its grace
            let downtime = ContinuousClock.now - downAt
            try cluster.scheduler("sched", leaseTTL: "3s")

            let done = try await eventually(timeout: .seconds(30)) {
                for policy in policies {
                    guard try await cluster.job("catchup-\(policy.rawValue)")?.state == .completed,
                        try await cluster.tickets("catchup-\(policy.rawValue)").allSatisfy(\.state.isFinal)
                    else { return false }
                }
                return true
            }
            await cluster.stopAll()
            #expect(done, "jobs did not complete after the restart (down \(downtime))\n\(cluster.logs())")
            #expect(try await cluster.duplicateSlots().isEmpty)
            let restartedEpoch = try #require(try await cluster.leases.current()).epoch

            for policy in policies {
                let job = jobs[policy]!
                let name = job.name
                let expected = Schedule(rule: .every(interval: .seconds(1), anchor: job.createdAt), endAt: endAt)
                    .slots(after: job.createdAt, count: 100)
                let tickets = try await cluster.tickets(name)
                let bySlot = Dictionary(uniqueKeysWithValues: tickets.map { ($0.slot, $0) })
                // Every slot of the schedule has exactly one ticket (run or skipped), and nothing else does.
                #expect(tickets.count == expected.count && Set(bySlot.keys) == Set(expected), "\(name): slots \(tickets.map(\.slot).sorted())")

                let missed = expected.filter { $0 > watermarks[policy]! }
                let runs = missed.filter { bySlot[$0]?.state == .succeeded }
                let skipped = missed.filter { bySlot[$0]?.state == .skipped && bySlot[$0]?.reason == .misfire }
                switch policy {
                case .all:
                    #expect(runs == missed, "\(name): ran \(runs) of missed \(missed)")
                    // No start deadline under `all`: a ticket left pending by the crash runs too.
                    #expect(tickets.allSatisfy { $0.state == .succeeded }, "\(name): \(tickets.map { "\($0.slot) \($0.state)" })")
                case .latest:
                    #expect(runs == [missed.last!], "\(name): ran \(runs) of missed \(missed)")
                    #expect(skipped == Array(missed.dropLast()), "\(name): skipped \(skipped) of missed \(missed)")
                case .none:
                    #expect(runs.isEmpty, "\(name): ran \(runs) of missed \(missed)")
                    #expect(skipped == missed, "\(name): skipped \(skipped) of missed \(missed)")
                }
                // The missed slots were decided by the restarted scheduler, under its new epoch.
                for slot in missed where bySlot[slot]?.epoch != restartedEpoch {
                    Issue.record("\(name): slot \(slot) has epoch \(String(describing: bySlot[slot]?.epoch)), expected \(restartedEpoch)")
                }
                // Slots before the outage are final whatever the policy (run, or skipped at their start deadline).
                #expect(tickets.allSatisfy { $0.state.isFinal })
                print("catch-up \(policy.rawValue): down \(downtime); \(missed.count) missed slots, \(runs.count) ran, \(skipped.count) skipped (misfire)")
            }
        }
    }
}
