import BatonCore
import BatonStore
import BatonTestSupport
import Foundation
import Testing

extension EndToEndTests {
    /// Guarantees §10.1–§10.3 and §10.5 under repeated SIGKILLs of schedulers and executors.
    @Suite("Crash loop", .serialized, .timeLimit(.minutes(3)))
    struct CrashLoopTests {
        /// 15 kills: enough for several leader changes and several executors killed mid-request, while
        /// the whole test stays near a minute. Replay a failure with `BATON_CHAOS_SEED=<printed seed>`.
        static let chaos: Duration = .seconds(30)
        static let killEvery: Duration = .seconds(2)
        static let seed: UInt64 = ProcessInfo.processInfo.environment["BATON_CHAOS_SEED"].flatMap { UInt64($0) } ?? 20_260_307

        @Test("SIGKILL a random scheduler or executor every 2 s: the file stays sound, every ticket finishes, no slot runs as two tickets", arguments: Backend.allCases)
        func crashLoop(backend: Backend) async throws {
            // /slow answers after 1.5 s, so executors are often killed in the middle of a request.
            let server = try TestHTTPServer { request in
                if request.path.hasPrefix("/slow") { usleep(1_500_000) }  // a slow endpoint is the subject: kills land mid-request
                return .init(status: 200, body: "ok")
            }
            defer { server.stop() }
            let cluster = try await E2ECluster(backend)
            let schedulers = ["sched-a", "sched-b"]
            let executors = ["exec-1", "exec-2"]
            cluster.reserveSchedulers(schedulers)
            let executorEnvironment = ["BATON_CLAIM_TTL": "3s", "BATON_SHUTDOWN_GRACE": "2s"]
            var live: [String: BatonProcess] = [:]
            for id in schedulers { live[id] = try cluster.scheduler(id, leaseTTL: "3s") }
            for id in executors { live[id] = try cluster.executor(id, extra: executorEnvironment) }

            // Catch-up `all` and a long grace: every slot must run, whatever was down when it came due.
            let policy = JobPolicy(
                overlap: .allow, catchup: .all, misfireGrace: .minutes(5),
                retry: RetryPolicy(maxAttempts: 5, initialDelay: .seconds(1), maxDelay: .seconds(2), multiplier: 2))
            let jobStore = cluster.jobs
            let fast = try await jobStore.create(httpJob("chaos-fast", url: server.url + "/fast", policy: policy, timeout: .seconds(10)), now: wallNow())
            let slow = try await jobStore.create(httpJob("chaos-slow", url: server.url + "/slow", policy: policy, timeout: .seconds(10)), now: wallNow())
            try #require(
                await eventually(timeout: .seconds(30)) { server.requests.count >= 2 }, "no calls before the chaos\n\(cluster.logs())")

            var generator = SeededGenerator(seed: Self.seed)
            var kills: [String] = []
            var manualKeys: [String] = []
            let chaosStart = ContinuousClock.now
            while ContinuousClock.now - chaosStart < Self.chaos {
                try await hold(Self.killEvery)  // the kill cadence is the subject: one SIGKILL every `killEvery`
                let victim = (schedulers + executors).randomElement(using: &generator)!
                let process = live[victim]!
                process.signal(SIGKILL)
                await process.waitForExit()
                kills.append(victim)
                live[victim] = schedulers.contains(victim)
                    ? try cluster.scheduler(victim, leaseTTL: "3s") : try cluster.executor(victim, extra: executorEnvironment)
                // Manual tickets too, written while processes die (the gateway's path, minus HTTP).
                let key = "chaos-\(kills.count)"
                _ = try await cluster.ticketStore.trigger(jobName: "chaos-slow", idempotencyKey: key, now: wallNow())
                manualKeys.append(key)
            }
            let summary = "seed \(Self.seed), kills \(kills)"
            #expect(kills.contains { schedulers.contains($0) } && kills.contains { executors.contains($0) }, "\(summary): the seed must hit both roles")

            // Chaos over: stop new slots, then every written ticket must finish with one scheduler and executors alive.
            for name in ["chaos-fast", "chaos-slow"] { _ = try await jobStore.setPaused(true, name: name, ifRevision: nil, now: wallNow()) }
            let settleStart = ContinuousClock.now
            // The bound follows from the settings: leader failover ≤ TTL + 2 s (5 s), a dead executor's claim
            // expires within the claim TTL (3 s), redelivery after 2 s, retry backoff ≤ 2 s; about 12 s in
            // the worst chain, doubled for a loaded CI machine.
            let settled = try await eventually(timeout: .seconds(25)) {
                let fastDone = try await cluster.tickets("chaos-fast").allSatisfy(\.state.isFinal)
                let slowDone = try await cluster.tickets("chaos-slow").allSatisfy(\.state.isFinal)
                return fastDone && slowDone
            }
            let settleTime = ContinuousClock.now - settleStart
            let allAlive = live.values.allSatisfy(\.isRunning)
            await cluster.stopAll()
            #expect(allAlive, "\(summary): a restarted process exited on its own\n\(cluster.logs())")
            #expect(settled, "\(summary): tickets unfinished \(settleTime) after the chaos\n\(cluster.logs(3000))")

            if let integrity = try cluster.database.integrityCheck() { #expect(integrity == ["ok"]) }
            #expect(try await cluster.duplicateSlots().isEmpty, "\(summary)")

            var tickets: [Ticket] = []
            for job in [fast, slow] {
                let jobTickets = try await cluster.ticketsWithAttempts(job.name)
                tickets += jobTickets
                // Catch-up `all`: scheduled slots are exactly createdAt + k·1s up to the watermark, each once.
                let slots = jobTickets.filter { !$0.manual }.map(\.slot).sorted()
                for (index, slot) in slots.enumerated() where slot != job.createdAt + .seconds(Int64(index + 1)) {
                    Issue.record("\(summary): \(job.name) slot #\(index + 1) is \(slot), expected \(job.createdAt + .seconds(Int64(index + 1)))")
                    break
                }
                let watermark = try #require(try await cluster.job(job.name)).watermark
                #expect(slots.last == watermark, "\(job.name): newest slot \(String(describing: slots.last)), watermark \(watermark)")
            }
            let manual = Set(tickets.filter(\.manual).compactMap { ticket in manualKeys.first { TicketID.manual(job: ticket.jobID, idempotencyKey: $0) == ticket.id } })
            #expect(manual == Set(manualKeys), "\(summary): manual tickets missing for \(Set(manualKeys).subtracting(manual))")

            // Every succeeded ticket's call arrived. A key may arrive more than once only from different
            // attempts (an executor killed mid-request, then the claim expired and another attempt ran):
            // at-least-once execution, deduplicated downstream by the key. One attempt never calls twice.
            let counts = server.keyCounts
            for ticket in tickets where ticket.state == .succeeded && counts[ticket.id.hex, default: 0] == 0 {
                Issue.record("\(summary): succeeded ticket \(ticket.id.hex) (\(ticket.jobName) @ \(ticket.slot)) never called the endpoint")
            }
            var attemptCalls: [String: Int] = [:]
            for request in server.requests {
                attemptCalls["\(request.headers["idempotency-key"] ?? "none")#\(request.headers["baton-attempt"] ?? "none")", default: 0] += 1
            }
            let repeatedAttempts = attemptCalls.filter { $0.value > 1 }
            #expect(repeatedAttempts.isEmpty, "\(summary): one attempt called more than once: \(repeatedAttempts)")
            let byID = Dictionary(uniqueKeysWithValues: tickets.map { ($0.id.hex, $0) })
            let repeatedKeys = counts.filter { $0.value > 1 }
            for (key, calls) in repeatedKeys {
                let attempts = byID[key]?.attempt ?? 0
                #expect(attempts >= calls, "\(summary): key \(key) was called \(calls) times but its ticket has \(attempts) attempts")
            }
            #expect(Set(counts.keys).isSubset(of: Set(byID.keys)), "\(summary): calls with keys that are no ticket")

            let states = Dictionary(grouping: tickets, by: \.state.rawValue).mapValues(\.count)
            let retried = tickets.filter { $0.attempt > 1 }.count
            print(
                "crash loop: \(summary); tickets \(tickets.count) \(states); retried \(retried); "
                    + "keys called more than once \(repeatedKeys.count) (all from attempts > 1); settled in \(settleTime)")
        }
    }
}
