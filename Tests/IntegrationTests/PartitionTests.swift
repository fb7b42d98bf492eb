import BatonCore
import BatonStore
import BatonTestSupport
import Foundation
import Testing

extension EndToEndTests {
    /// A network partition on the ZeroMQ path between an executor and the scheduler.
    ///
    /// What is honest to test on one host: the SQLite file is local to both processes, so a partition
    /// "from the database" cannot be made; only the notification path (CONTRACT §8) can be cut. The
    /// executor runs in its own network namespace, joined to the host by a veth pair with a private /30;
    /// the scheduler binds its ROUTER on the host end. Taking the link down then means:
    /// - a ticket already running keeps its claim: heartbeats go to the database, not over ZeroMQ, so
    ///   the claim is renewed through the cut and the ticket is neither expired nor run a second time;
    /// - tickets written during the cut cannot be dispatched to the executor, so they wait as `pending`
    ///   (this also proves the cut was real);
    /// - when the link comes back, dispatch resumes on its own (resent HELLO/CREDIT, redelivery) and
    ///   every ticket runs exactly once.
    @Suite(
        "Network partition", .serialized, .timeLimit(.minutes(2)),
        .enabled(
            if: NetworkNamespace.isAvailable,
            "needs root with CAP_NET_ADMIN/CAP_SYS_ADMIN and iproute2 (`ip netns`, veth) to cut a link; not available here"))
    struct PartitionTests {
        static let claimTTL: Duration = .seconds(3)

        @Test("Cutting the executor's link: its running ticket keeps its claim, dispatch resumes after, nothing runs twice")
        func partitionedExecutor() async throws {
            let namespace = try NetworkNamespace()
            defer { namespace.destroy() }
            // SQLite only: here the database is a file both processes reach without the network. On PostgreSQL an
            // executor in the namespace reaches the database over the same link, so cutting it is the several-hosts
            // test's subject, not this one's.
            let cluster = try await E2ECluster(.sqlite)
            cluster.reserveSchedulers(["sched"], host: namespace.hostAddress)
            // The dispatch port is on the veth link, not loopback, so it needs CURVE keys as in a deploy.
            let keys = try await DispatchKeySet(cluster.workspace)
            try cluster.scheduler("sched", leaseTTL: "3s", extra: keys.scheduler)
            let executor = try cluster.executor(
                "exec-ns", extra: keys.executor.merging(["BATON_CLAIM_TTL": "3s", "BATON_ALLOW_COMMANDS": "true"]) { $1 },
                launcher: namespace.launcher)

            // Each run appends "<key> <attempt> start|end" to a file: the side effect, counted per key.
            let record = cluster.workspace.directory.appendingPathComponent("runs.txt").path
            func command(sleep seconds: Int) -> Action {
                .command(
                    CommandAction(
                        argv: [
                            "/bin/sh", "-c",
                            "echo \"$BATON_IDEMPOTENCY_KEY $BATON_ATTEMPT start\" >> \(record); sleep \(seconds); "  // a long action is the subject: the partition lands mid-run
                                + "echo \"$BATON_IDEMPOTENCY_KEY $BATON_ATTEMPT end\" >> \(record)",
                        ], timeout: .seconds(30)))
            }
            func lines() -> [String] {
                ((try? String(contentsOfFile: record, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            }
            let jobs = cluster.jobs
            let tickets = cluster.ticketStore
            // Manual tickets only (the schedules are a day apart), so every ticket is one the test wrote.
            // The slow one sleeps 12 s: it must still be running when the 6 s cut ends, with room for a slow machine.
            let manualOnly = JobPolicy(overlap: .allow, retry: RetryPolicy(maxAttempts: 3, initialDelay: .seconds(1)))
            _ = try await jobs.create(JobSpec(name: "slow", schedule: ScheduleSpec(.every(.hours(24))), action: command(sleep: 12), policy: manualOnly), now: wallNow())  // runs 12 s: the partition lands mid-run
            _ = try await jobs.create(JobSpec(name: "quick", schedule: ScheduleSpec(.every(.hours(24))), action: command(sleep: 0), policy: manualOnly), now: wallNow())  // no wait: the control job

            // The link works: a ticket crosses it and runs.
            let (warmup, _) = try await tickets.trigger(jobName: "quick", idempotencyKey: "warmup", now: wallNow())
            try #require(
                try await eventually(timeout: .seconds(30)) { try await tickets.ticket(warmup.id)?.state == .succeeded },
                "no ticket ran across the veth link\n\(cluster.logs())")

            let (slow, _) = try await tickets.trigger(jobName: "slow", idempotencyKey: "slow", now: wallNow())
            try #require(
                await eventually(timeout: .seconds(15)) { lines().contains("\(slow.id.hex) 1 start") },
                "the slow ticket did not start\n\(cluster.logs())")

            // Cut the link for 2 × the claim TTL (measured), while the slow ticket runs.
            try namespace.setLink(up: false)
            let cutAt = ContinuousClock.now
            let cutWall = wallNow()
            var during: [TicketID] = []
            for n in 1...3 { during.append(try await tickets.trigger(jobName: "quick", idempotencyKey: "during-\(n)", now: wallNow()).ticket.id) }
            var slowStates: Set<String> = []
            try await observe(for: Self.claimTTL * 2 - (ContinuousClock.now - cutAt), every: .milliseconds(200)) {
                if let ticket = try await tickets.ticket(slow.id) { slowStates.insert("\(ticket.state.rawValue)#\(ticket.attempt)") }
            }
            let leaseExpiry = try await cluster.database.claimExpiry(slow.id)
            var duringStates: [TicketState] = []
            for id in during { duringStates.append(try #require(try await tickets.ticket(id)).state) }
            let cutLasted = ContinuousClock.now - cutAt
            try namespace.setLink(up: true)
            let restoredAt = ContinuousClock.now

            #expect(executor.isRunning, "the partitioned executor exited\n\(executor.log.suffix(2000))")
            // The running ticket kept its one claim through the cut: renewed in the database, never expired.
            #expect(slowStates == ["running#1"], "slow ticket during the cut: \(slowStates)")
            let renewedPast = cutWall + TimeSpan(milliseconds: Int64(Self.claimTTL.components.seconds) * 1000)
            #expect((leaseExpiry ?? 0) > renewedPast.milliseconds, "the claim was not renewed during the \(cutLasted) cut")
            // Nothing crossed the cut: tickets written during it were not dispatched.
            #expect(duringStates.allSatisfy { $0 == .pending }, "tickets written during the cut ran anyway: \(duringStates)")

            // After the link returns, dispatch resumes by itself: the waiting tickets run, and the slow one finishes.
            let resumed = try await eventually(timeout: .seconds(30)) {
                for id in during {
                    if try await tickets.ticket(id)?.state != .succeeded { return false }
                }
                return true
            }
            let recovery = ContinuousClock.now - restoredAt
            let slowDone = try await eventually(timeout: .seconds(20)) { try await tickets.ticket(slow.id)?.state == .succeeded }
            await cluster.stopAll()
            #expect(resumed, "dispatch did not resume \(recovery) after the link came back\n\(cluster.logs(3000))")
            #expect(slowDone, "the slow ticket did not finish\n\(cluster.logs(3000))")

            // Exactly once: one attempt per ticket, one start and one end line per key.
            for id in [warmup.id, slow.id] + during {
                let ticket = try #require(try await tickets.ticket(id))
                #expect(ticket.attempts?.count == 1, "\(ticket.jobName) \(ticket.id.hex): attempts \(String(describing: ticket.attempts))")
                #expect(lines().filter { $0.hasPrefix(id.hex + " ") } == ["\(id.hex) 1 start", "\(id.hex) 1 end"], "\(lines())")
            }
            print("partition: cut \(cutLasted); dispatch resumed within \(recovery) of the link coming back")
        }
    }
}
