import BatonCore
import BatonStore
import BatonTestSupport
import Foundation
import Synchronization
import Testing

/// A scheduler and several executors as real processes, calling a local HTTP endpoint that
/// counts calls per Idempotency-Key (issue: executor end to end).
@Suite("Scheduler and executors", .serialized, .timeLimit(.minutes(3)))
struct ExecutionTests {
    struct Cluster {
        let workspace: Workspace
        let database: TestDatabase
        let endpoint: String
        var processes: [BatonProcess] = []

        init(_ backend: Backend) async throws {
            workspace = try Workspace()
            database = try await TestDatabase(backend, workspace: workspace)
            endpoint = "tcp://127.0.0.1:\(freePort())"
        }

        var jobs: any JobStore { database.jobs }
        var ticketStore: any TicketStore { database.tickets }

        var environment: [String: String] {
            ["BATON_DB": database.url, "BATON_DISPATCH_BIND": endpoint, "BATON_SCHEDULERS": endpoint]
        }

        mutating func start(_ role: String, name: String, extra: [String: String] = [:]) throws -> BatonProcess {
            let process = try BatonProcess(
                [role], environment: environment.merging(extra) { _, new in new }, directory: workspace.directory, name: name)
            processes.append(process)
            return process
        }

        func stopAll() async {
            for process in processes { process.signal(SIGTERM) }
            for process in processes { await process.waitForExit() }
        }

        /// Every ticket of a job, across pages.
        func tickets(_ job: String) async throws -> [Ticket] {
            try await ticketStore.all(TicketFilter(jobName: job))
        }
    }

    static func httpJob(_ name: String, url: String, every: TimeSpan = .hours(24), policy: JobPolicy = JobPolicy(overlap: .allow)) -> JobSpec {
        JobSpec(
            name: name, schedule: ScheduleSpec(.every(every)),
            action: .http(HTTPAction(method: "POST", url: url, body: "{}", timeout: .seconds(30))), policy: policy)
    }

    static func keyCounts(_ server: TestHTTPServer) -> [String: Int] {
        server.requests.reduce(into: [:]) { counts, request in
            counts[request.headers["idempotency-key"] ?? "none", default: 0] += 1
        }
    }

    @Test(arguments: Backend.allCases) func twoHundredTicketsAcrossThreeExecutorsRunOnceEach(backend: Backend) async throws {
        let server = try TestHTTPServer { _ in .init(status: 200, body: "ok") }
        defer { server.stop() }
        var cluster = try await Cluster(backend)
        _ = try await cluster.jobs.create(Self.httpJob("burst", url: server.url + "/burst"), now: SystemWallClock().now())
        _ = try cluster.start("scheduler", name: "scheduler")
        for n in 1...3 { _ = try cluster.start("executor", name: "executor-\(n)", extra: ["BATON_EXECUTOR_CAPACITY": "8"]) }

        var ids: Set<TicketID> = []
        for n in 0..<200 {
            let (ticket, _) = try await cluster.ticketStore.trigger(jobName: "burst", idempotencyKey: "k\(n)", now: SystemWallClock().now())
            ids.insert(ticket.id)
        }
        let finished = try await eventually(timeout: .seconds(60)) {
            try await cluster.tickets("burst").allSatisfy { $0.state == .succeeded }
        }
        await cluster.stopAll()
        #expect(finished)
        let counts = Self.keyCounts(server)
        #expect(counts.count == 200)
        #expect(counts.values.allSatisfy { $0 == 1 }, "a key was called twice: \(counts.filter { $0.value > 1 })")
        #expect(Set(counts.keys) == Set(ids.map(\.hex)))
        let executors = Set(try await cluster.tickets("burst").compactMap(\.executor))
        #expect(executors.count >= 2, "work should spread across executors, ran on \(executors)")
    }

    @Test(arguments: Backend.allCases) func anEverySecondJobRunsOncePerSecondWithThreeExecutors(backend: Backend) async throws {
        let server = try TestHTTPServer { _ in .init(status: 204) }
        defer { server.stop() }
        var cluster = try await Cluster(backend)
        let job = try await cluster.jobs.create(
            Self.httpJob("heartbeat", url: server.url + "/beat", every: .seconds(1)), now: SystemWallClock().now())
        _ = try cluster.start("scheduler", name: "scheduler")
        for n in 1...3 { _ = try cluster.start("executor", name: "executor-\(n)") }
        #expect(try await eventually(timeout: .seconds(30)) {
            try await cluster.tickets("heartbeat").filter { $0.state == .succeeded }.count >= 6
        })
        await cluster.stopAll()
        let tickets = try await cluster.tickets("heartbeat")
        let counts = Self.keyCounts(server)
        #expect(counts.values.allSatisfy { $0 == 1 })
        let slots = tickets.map(\.slot).sorted()
        #expect(Set(slots).count == slots.count)
        for (index, slot) in slots.enumerated() { #expect(slot == job.createdAt + .seconds(Int64(index + 1))) }
        // Every succeeded ticket made exactly one call, with its own key.
        let succeeded = Set(tickets.filter { $0.state == .succeeded }.map(\.id.hex))
        #expect(succeeded.isSubset(of: Set(counts.keys)))
    }

    @Test(arguments: Backend.allCases) func aKilledExecutorsTicketIsRerunWithTheSameKeyAfterItsClaimExpires(backend: Backend) async throws {
        // The first call hangs (the executor is killed while it waits); later calls answer at once.
        let calls = Mutex(0)
        let server = try TestHTTPServer { _ in
            calls.withLock { $0 += 1; return $0 } == 1 ? .init(status: 200, hang: true) : .init(status: 200, body: "done")
        }
        defer { server.stop() }
        var cluster = try await Cluster(backend)
        _ = try await cluster.jobs.create(Self.httpJob("slow", url: server.url + "/slow"), now: SystemWallClock().now())
        _ = try cluster.start("scheduler", name: "scheduler")
        let first = try cluster.start("executor", name: "executor-a", extra: ["BATON_EXECUTOR_ID": "executor-a", "BATON_CLAIM_TTL": "3s"])
        let (ticket, _) = try await cluster.ticketStore.trigger(jobName: "slow", idempotencyKey: "once", now: SystemWallClock().now())
        #expect(await eventually(timeout: .seconds(20)) { server.requests.count == 1 })
        #expect(try await cluster.ticketStore.ticket(ticket.id)?.executor == "executor-a")

        first.signal(SIGKILL)
        await first.waitForExit()
        _ = try cluster.start("executor", name: "executor-b", extra: ["BATON_EXECUTOR_ID": "executor-b", "BATON_CLAIM_TTL": "3s"])
        #expect(try await eventually(timeout: .seconds(30)) {
            try await cluster.ticketStore.ticket(ticket.id)?.state == .succeeded
        })
        await cluster.stopAll()
        let final = try #require(try await cluster.ticketStore.ticket(ticket.id))
        #expect(final.executor == "executor-b")
        #expect(final.attempts?.map(\.outcome) == [.leaseExpired, .succeeded])
        let keys = server.requests.map { $0.headers["idempotency-key"] }
        #expect(keys == [ticket.id.hex, ticket.id.hex])
    }

    @Test(arguments: Backend.allCases)
    func aFailingCommandIsRetriedPerPolicyThenFailsWithItsOutputAndAHangingOneIsKilled(backend: Backend) async throws {
        var cluster = try await Cluster(backend)
        let retry = RetryPolicy(maxAttempts: 2, initialDelay: .milliseconds(200), maxDelay: .seconds(1), multiplier: 2)
        let jobs = cluster.jobs
        _ = try await jobs.create(
            JobSpec(
                name: "fails", schedule: ScheduleSpec(.every(.hours(24))),
                action: .command(CommandAction(argv: ["/bin/sh", "-c", "echo attempt $BATON_ATTEMPT of $BATON_JOB; exit 1"])),
                policy: JobPolicy(retry: retry)),
            now: SystemWallClock().now())
        _ = try await jobs.create(
            JobSpec(
                name: "hangs", schedule: ScheduleSpec(.every(.hours(24))),
                action: .command(CommandAction(argv: ["/bin/sleep", "600"], timeout: .milliseconds(500))),  // the child under test outlives its timeout on purpose
                policy: JobPolicy(retry: RetryPolicy(maxAttempts: 1))),
            now: SystemWallClock().now())
        _ = try cluster.start("scheduler", name: "scheduler")
        _ = try cluster.start("executor", name: "executor", extra: ["BATON_ALLOW_COMMANDS": "true"])
        let tickets = cluster.ticketStore
        let (failing, _) = try await tickets.trigger(jobName: "fails", idempotencyKey: nil, now: SystemWallClock().now())
        let (hanging, _) = try await tickets.trigger(jobName: "hangs", idempotencyKey: nil, now: SystemWallClock().now())
        #expect(try await eventually(timeout: .seconds(30)) {
            let states = try await [tickets.ticket(failing.id)?.state, tickets.ticket(hanging.id)?.state]
            return states.allSatisfy { $0?.isFinal == true }
        })
        await cluster.stopAll()

        let failed = try #require(try await tickets.ticket(failing.id))
        #expect(failed.state == .failed)
        #expect(failed.attempts?.count == 2)
        #expect(failed.attempts?.map(\.status) == [1, 1])
        #expect(failed.attempts?.last?.output?.contains("attempt 2 of fails") == true)
        let killed = try #require(try await tickets.ticket(hanging.id))
        #expect(killed.state == .failed)
        #expect(killed.reason == .timeout)
        #expect(killed.attempts?.first?.outcome == .timedOut)
    }

    /// On SQLite only: the subject is the metrics endpoint, which no backend changes.
    @Test func schedulerAndExecutorServeTheirMetricsOnMetricsBind() async throws {
        var cluster = try await Cluster(.sqlite)
        let schedulerMetrics = "127.0.0.1:\(freePort())"
        let executorMetrics = "127.0.0.1:\(freePort())"
        _ = try await cluster.jobs.create(
            JobSpec(name: "observed", schedule: ScheduleSpec(.every(.hours(24))), action: .noop), now: SystemWallClock().now())
        _ = try cluster.start("scheduler", name: "scheduler", extra: ["BATON_METRICS_BIND": schedulerMetrics])
        _ = try cluster.start("executor", name: "executor", extra: ["BATON_METRICS_BIND": executorMetrics])
        let tickets = cluster.ticketStore
        let (ticket, _) = try await tickets.trigger(jobName: "observed", idempotencyKey: nil, now: SystemWallClock().now())
        #expect(try await eventually(timeout: .seconds(20)) { try await tickets.ticket(ticket.id)?.state == .succeeded })

        func scrape(_ address: String) -> String {
            guard let url = URL(string: "http://\(address)/metrics"), let data = try? Data(contentsOf: url) else { return "" }
            return String(decoding: data, as: UTF8.self)
        }
        // The executor publishes its counters once a second; the claim metrics are recorded at once.
        #expect(await eventually(timeout: .seconds(10)) {
            let text = scrape(executorMetrics)
            return text.contains("baton_tickets_claimed_total 1") && text.contains("baton_tickets_completed_total 1")
        })
        let executorText = scrape(executorMetrics)
        #expect(executorText.contains(#"baton_attempts_completed_total{outcome="succeeded"} 1"#))
        #expect(executorText.contains("baton_due_to_claimed_seconds_count 1"))
        let schedulerText = scrape(schedulerMetrics)
        #expect(schedulerText.contains("baton_scheduler_is_leader 1"))
        #expect(schedulerText.contains("baton_leader_epoch 1"))
        #expect(!schedulerText.contains("observed"), "metrics must not carry job names by default")
        await cluster.stopAll()
    }
}
