import BatonCore
import BatonPostgres
import BatonPostgresTestSupport
import BatonStore
import BatonTestSupport
import Foundation
import Logging
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension EndToEndTests {
    /// Issue 14 item 4: PostgreSQL restarts under load, and nothing is lost or run twice.
    ///
    /// A scheduler, two executors and a gateway run on a private cluster (``PostgresCluster/makePrivate()``) with an
    /// every-1s HTTP job and manual triggers through the API. The cluster is stopped with a fast shutdown (every
    /// session cut, as a restart or a failover does) and started again on the same port. Every process must still run
    /// (an outage is retried, never fatal after start-up), the gateway must answer 503 meanwhile rather than hang,
    /// and afterwards every slot is ticketed once, every ticket succeeded, and no Idempotency-Key arrived twice.
    ///
    /// Self-contained (BatonProcess directly, not E2ECluster) so it does not depend on how the SQLite suites
    /// set up their clusters.
    @Suite("PostgreSQL restart during load", .serialized, .timeLimit(.minutes(3)))
    struct PostgresRestartTests {
        /// The outage: longer than the leader's 3 s lease (so the lease lapses and is taken again) and than the pool's
        /// first reconnect intervals; shorter than half the executors' claim TTL, the outage a running claim survives
        /// (Docs/Operations.md, "Restarts and outages", says what a longer one does: the claims it outlives run again).
        static let outage: Duration = .seconds(5)
        static let claimTTL = "15s"

        static let logger: Logger = {
            var logger = Logger(label: "baton.test.restart")
            logger.logLevel = .error
            return logger
        }()

        /// Role processes, stopped by PID (SIGKILL if the test ends early).
        final class Processes {
            let workspace: Workspace
            private(set) var all: [BatonProcess] = []

            init(_ workspace: Workspace) { self.workspace = workspace }

            func start(_ role: String, name: String, _ environment: [String: String]) throws {
                all.append(try BatonProcess([role], environment: environment, directory: workspace.directory, name: name))
            }

            func logs(_ characters: Int = 3000) -> String {
                all.map { "--- \($0.role) (pid \($0.pid)) ---\n\($0.log.suffix(characters))" }.joined(separator: "\n")
            }

            deinit { for process in all { process.signal(SIGKILL) } }
        }

        /// POST `/v1/jobs/manual/trigger` with `key`: the HTTP status, or 0 if the request itself failed.
        static func trigger(_ gateway: String, key: String) async -> Int {
            guard let url = URL(string: "\(gateway)/v1/jobs/manual/trigger") else { return 0 }
            var request = URLRequest(url: url, timeoutInterval: 20)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue(key, forHTTPHeaderField: "Idempotency-Key")
            guard let (_, response) = try? await URLSession.shared.data(for: request) else { return 0 }
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        }

        @Test func aRestartDuringLoadLosesNothingAndDuplicatesNothing() async throws {
            let cluster = try await PostgresCluster.makePrivate()
            let server = try TestHTTPServer { _ in .init(status: 200, body: "ok") }
            defer { server.stop() }
            let processes = Processes(try Workspace())

            // The test's own connection, as another process's: migrates first, then reads what the roles wrote.
            let backend = PostgresBackend(configuration: cluster.configuration(database: "postgres"), logger: Self.logger)
            let client = Task { await backend.client.run() }
            defer { client.cancel() }
            try await backend.prepare()
            let stores = backend.stores

            let database = cluster.url(database: "postgres")
            let dispatch = "tcp://127.0.0.1:\(freePort())"
            let gateway = "127.0.0.1:\(freePort())"
            try processes.start(
                "scheduler", name: "scheduler",
                ["BATON_DB": database, "BATON_DISPATCH_BIND": dispatch, "BATON_LEASE_TTL": "3s", "BATON_SCHEDULER_ID": "s1"])
            for n in 1...2 {
                try processes.start(
                    "executor", name: "executor-\(n)",
                    ["BATON_DB": database, "BATON_SCHEDULERS": dispatch, "BATON_EXECUTOR_ID": "e\(n)", "BATON_CLAIM_TTL": Self.claimTTL])
            }
            try processes.start("gateway", name: "gateway", ["BATON_DB": database, "BATON_HTTP_BIND": gateway, "BATON_SCHEDULERS": dispatch])
            let api = "http://\(gateway)"

            let ready = try await eventually(timeout: .seconds(60)) {
                let lease = try await stores.leases.current()
                let executors = try await stores.nodes.executors(seenSince: wallClock() - .seconds(5))
                return lease?.holder == "s1" && executors.count == 2
            }
            try #require(ready, "the roles did not come up\n\(processes.logs())")

            // Late rather than skipped (a large misfireGrace, every missed slot caught up): this test is about loss
            // and duplicates, not about misfire policy.
            let policy = JobPolicy(overlap: .allow, catchup: .all, misfireGrace: .hours(1))
            let job = try await stores.jobs.create(
                JobSpec(
                    name: "beat", schedule: ScheduleSpec(.every(.seconds(1))),
                    action: .http(HTTPAction(method: "POST", url: server.url + "/beat", body: "{}", timeout: .seconds(30))),
                    policy: policy),
                now: wallClock())
            _ = try await stores.jobs.create(
                JobSpec(
                    name: "manual", schedule: ScheduleSpec(.every(.days(1))),
                    action: .http(HTTPAction(method: "POST", url: server.url + "/manual", body: "{}", timeout: .seconds(30))),
                    policy: policy),
                now: wallClock())
            try #require(
                await eventually(timeout: .seconds(30)) { server.requests.contains { $0.path == "/beat" } },
                "no call arrived\n\(processes.logs())")

            var keys: [String] = []
            for n in 1...3 {
                keys.append("before-\(n)")
                #expect(await Self.trigger(api, key: "before-\(n)") == 202, "\(processes.logs())")
            }
            try await hold(.seconds(3))  // load before the stop: three more slots run normally

            try await cluster.stop()
            let stopped = ContinuousClock.now
            // While the database is down the gateway answers 503 (it gives up waiting for a connection) instead of
            // hanging; the same key is sent again after the restart.
            keys.append("during-1")
            let during = await Self.trigger(api, key: "during-1")
            #expect(during == 503, "a trigger during the outage answered \(during)")
            try await hold(Self.outage - (ContinuousClock.now - stopped))  // the outage is the subject
            let exitedDuringOutage = processes.all.filter { !$0.isRunning }.map(\.role)
            try await cluster.start()
            let restarted = wallClock()

            #expect(
                // 202 (created), or 200 if an earlier try committed although its answer was lost.
                await eventually(timeout: .seconds(30)) { [200, 202].contains(await Self.trigger(api, key: "during-1")) },
                "the trigger sent during the outage did not succeed after the restart\n\(processes.logs())")
            for n in 1...3 {
                keys.append("after-\(n)")
                #expect(await Self.trigger(api, key: "after-\(n)") == 202, "\(processes.logs())")
            }
            try await hold(.seconds(5))  // load after the restart: slots run again, caught up and new
            let windowEnd = wallClock()

            // Every ticket of the window finishes (none stuck running or pending), then everything stops.
            let settled = try await eventually(timeout: .seconds(60)) {
                let beat = try await stores.tickets.all(TicketFilter(jobName: "beat")).filter { $0.slot <= windowEnd }
                let manual = try await stores.tickets.all(TicketFilter(jobName: "manual")).filter(\.manual)
                return (beat + manual).allSatisfy(\.state.isFinal) && manual.count == keys.count
            }
            let stillRunning = processes.all.filter(\.isRunning).map(\.role)
            for process in processes.all { process.signal(SIGTERM) }
            for process in processes.all { await process.waitForExit() }
            #expect(exitedDuringOutage.isEmpty, "exited during the outage: \(exitedDuringOutage)\n\(processes.logs())")
            #expect(stillRunning.count == 4, "running after the restart: \(stillRunning)\n\(processes.logs())")
            #expect(settled, "tickets did not finish after the restart\n\(processes.logs())")

            let counts = server.requests.reduce(into: [String: Int]()) { counts, request in
                counts[request.headers["idempotency-key"] ?? "none", default: 0] += 1
            }
            #expect(counts.filter { $0.value > 1 }.isEmpty, "keys called more than once: \(counts.filter { $0.value > 1 })")

            // Every slot from the first to the end of the window: exactly one ticket, succeeded, called once.
            let beat = try await stores.tickets.all(TicketFilter(jobName: "beat")).filter { !$0.manual && $0.slot <= windowEnd }
            let bySlot = Dictionary(grouping: beat, by: \.slot)
            let expected = Schedule(rule: .every(interval: .seconds(1), anchor: job.createdAt))
                .slots(after: job.createdAt, count: 1000).filter { $0 <= windowEnd }
            #expect(expected.count >= 12, "only \(expected.count) slots in the window")
            #expect(expected.last.map { $0 > restarted } == true, "no slot after the restart")
            let notOnce = expected.filter { bySlot[$0]?.count != 1 }
            #expect(notOnce.isEmpty, "slots without exactly one ticket: \(notOnce)")
            for ticket in beat where ticket.state != .succeeded || counts[ticket.id.hex] != 1 {
                Issue.record("slot \(ticket.slot): \(ticket.state), called \(counts[ticket.id.hex] ?? 0) times")
            }

            // Every manual trigger: one ticket per key, succeeded, called once.
            let manual = try await stores.tickets.all(TicketFilter(jobName: "manual")).filter(\.manual)
            #expect(manual.count == keys.count, "\(manual.count) manual tickets for \(keys.count) keys")
            for ticket in manual where ticket.state != .succeeded || counts[ticket.id.hex] != 1 {
                Issue.record("manual ticket \(ticket.id.hex): \(ticket.state), called \(counts[ticket.id.hex] ?? 0) times")
            }
            try await cluster.stop()
        }
    }
}

private func wallClock() -> Timestamp { SystemWallClock().now() }
