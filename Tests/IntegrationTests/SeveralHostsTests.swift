import BatonCore
import BatonPostgres
import BatonPostgresTestSupport
import BatonStore
import BatonTestSupport
import Foundation
import Logging
import Testing

extension EndToEndTests {
    /// Issue 14, item 6: Baton across hosts, for real. Three hosts (network namespaces on one bridge, sharing no file
    /// system path for data) each run a scheduler and an executor; PostgreSQL and the recording endpoint run on a
    /// fourth, this namespace. The test kills the leader's host, then cuts the new leader's host off the network for
    /// more than two claim and lease TTLs, then heals it. Throughout, an every-second HTTP job must run each slot as
    /// exactly one ticket, and every ticket must reach the endpoint: no slot lost, no effect duplicated (the endpoint
    /// counts effects by Idempotency-Key, as a user's service would).
    @Suite(
        "Several hosts on PostgreSQL", .serialized, .timeLimit(.minutes(3)),
        .enabled(
            if: NetworkNamespace.isAvailable,
            "needs root with CAP_NET_ADMIN/CAP_SYS_ADMIN and iproute2 (`ip netns`, veth, bridge); not available here"))
    struct SeveralHostsTests {
        static let ttl: Duration = .seconds(3)

        static let logger: Logger = {
            var logger = Logger(label: "baton.test.hosts")
            logger.logLevel = .error
            return logger
        }()

        /// One host's processes.
        struct Host {
            let network: VirtualNetwork.Host
            let id: String
            let scheduler: BatonProcess
            let executor: BatonProcess
        }

        @Test("Kill the leader's host, cut another host's link past the TTLs, heal it: every slot once, every effect once")
        func killAndPartitionHosts() async throws {
            let network = try VirtualNetwork()
            defer { network.destroy() }
            let cluster = try await PostgresCluster.makePrivate(alsoListeningOn: network.address)
            // The test's own connection (from this namespace, the database's host), as another process's.
            let backend = PostgresBackend(configuration: cluster.configuration(database: "postgres"), logger: Self.logger)
            let client = Task { await backend.client.run() }
            defer { client.cancel() }
            try await backend.prepare()
            let stores = backend.stores
            let server = try TestHTTPServer(host: network.address) { _ in .init(status: 200, body: "ok") }
            defer { server.stop() }
            let workspace = try Workspace()
            let keys = try await DispatchKeySet(workspace)

            let machines = try (1...3).map { _ in try network.addHost() }
            let endpoints = machines.map { "tcp://\($0.address):\(freePort())" }
            let databaseURL = cluster.url(database: "postgres", host: network.address)
            var hosts: [Host] = []
            for (index, machine) in machines.enumerated() {
                let id = "host-\(index + 1)"
                let common = ["BATON_DB": databaseURL, "BATON_LOG_LEVEL": "info"]
                let scheduler = try BatonProcess(
                    ["scheduler"],
                    environment: common.merging(keys.scheduler) { $1 }.merging([
                        "BATON_DISPATCH_BIND": endpoints[index], "BATON_LEASE_TTL": "3s", "BATON_SCHEDULER_ID": "sched-\(id)",
                    ]) { $1 },
                    directory: workspace.directory, name: "sched-\(id)", launcher: machine.launcher)
                let executor = try BatonProcess(
                    ["executor"],
                    environment: common.merging(keys.executor) { $1 }.merging([
                        "BATON_SCHEDULERS": endpoints.joined(separator: ","), "BATON_CLAIM_TTL": "3s", "BATON_EXECUTOR_ID": "exec-\(id)",
                    ]) { $1 },
                    directory: workspace.directory, name: "exec-\(id)", launcher: machine.launcher)
                hosts.append(Host(network: machine, id: id, scheduler: scheduler, executor: executor))
            }
            func logs() -> String {
                hosts.flatMap { [$0.scheduler, $0.executor] }.map { "--- \($0.role) ---\n\($0.log.suffix(1500))" }.joined(separator: "\n")
            }
            defer { for host in hosts { for process in [host.scheduler, host.executor] { process.signal(SIGKILL) } } }

            let ready = try await eventually(timeout: .seconds(30)) {
                let lease = try await stores.leases.current()
                let live = try await stores.nodes.executors(seenSince: wallNow() - .seconds(5))
                return lease != nil && live.count == 3
            }
            try #require(ready, "the hosts did not come up\n\(logs())")
            // Late rather than skipped (this test is about loss and duplicates), and retried after a failed call.
            let policy = JobPolicy(overlap: .allow, misfireGrace: .seconds(60), retry: RetryPolicy(maxAttempts: 10, initialDelay: .seconds(1)))
            let job = try await stores.jobs.create(httpJob("across", url: server.url + "/across", policy: policy, timeout: .seconds(2)), now: wallNow())
            try #require(await eventually(timeout: .seconds(20)) { !server.requests.isEmpty }, "no call arrived\n\(logs())")

            // 1. Kill the leader's host: both its processes, at once.
            let first = try #require(try await stores.leases.current())
            let killed = try #require(hosts.first { "sched-\($0.id)" == first.holder })
            for process in [killed.scheduler, killed.executor] { process.signal(SIGKILL) }
            for process in [killed.scheduler, killed.executor] { await process.waitForExit() }
            let killedAt = ContinuousClock.now
            let second = try await eventually(timeout: .seconds(15)) {
                try await stores.leases.current().map { $0.epoch > first.epoch && $0.holder != first.holder } ?? false
            }
            try #require(second, "no host took over from the killed leader\n\(logs())")
            let takeover = ContinuousClock.now - killedAt
            let secondLease = try #require(try await stores.leases.current())
            #expect(takeover <= Self.ttl + .seconds(3), "takeover after the kill took \(takeover)")

            // 2. Cut the new leader's host off for 2 × TTL + 2 s: the last host takes over, and the cut host's running
            // tickets are retried elsewhere once their claims expire.
            let cut = try #require(hosts.first { "sched-\($0.id)" == secondLease.holder })
            try cut.network.setLink(up: false)
            let cutAt = ContinuousClock.now
            let third = try await eventually(timeout: .seconds(15)) {
                try await stores.leases.current().map { $0.epoch > secondLease.epoch && $0.holder != cut.scheduler.role } ?? false
            }
            let cutTakeover = ContinuousClock.now - cutAt
            try await hold(Self.ttl * 2 + .seconds(2) - (ContinuousClock.now - cutAt))  // the cut's length is the subject
            try cut.network.setLink(up: true)
            #expect(third, "no host took over from the cut leader\n\(logs())")
            let thirdLease = try #require(try await stores.leases.current())
            print("several hosts: takeover after kill \(takeover), after cut \(cutTakeover); epochs \(first.epoch) → \(thirdLease.epoch)")

            // 3. Healed: the cut host rejoins as a standby (the lease stays put) and its executor works again.
            let healedAt = wallNow()
            let rejoined = try await eventually(timeout: .seconds(20)) {
                let executors = try await stores.nodes.executors(seenSince: healedAt)
                return executors.contains { $0.id == cut.executor.role }
            }
            #expect(rejoined, "the healed host's executor did not come back\n\(logs())")
            try await hold(.seconds(3))  // a few more slots with all surviving hosts back
            let windowEnd = wallNow()
            let settled = try await eventually(timeout: .seconds(30)) {
                try await stores.tickets.all(TicketFilter(jobName: "across")).filter { $0.slot <= windowEnd }
                    .allSatisfy { $0.state == .succeeded }
            }
            let survivors = hosts.filter { $0.id != killed.id }.flatMap { [$0.scheduler, $0.executor] }
            let alive = survivors.allSatisfy(\.isRunning)
            let lastLease = try await stores.leases.current()
            for process in survivors { process.signal(SIGTERM) }
            for process in survivors { await process.waitForExit() }
            #expect(alive, "a process on a surviving host exited\n\(logs())")
            #expect(settled, "tickets of the run did not all succeed\n\(logs())")
            #expect(lastLease?.epoch == thirdLease.epoch, "the lease moved after the heal: \(String(describing: lastLease))")

            // No slot lost: one ticket per slot from the first to the last, each succeeded and called.
            let tickets = try await stores.tickets.all(TicketFilter(jobName: "across")).filter { $0.slot <= windowEnd }
            let slots = tickets.map(\.slot).sorted()
            #expect(Set(slots).count == slots.count, "a slot has two tickets")
            for (index, slot) in slots.enumerated() where slot != job.createdAt + .seconds(Int64(index + 1)) {
                Issue.record("slot #\(index + 1) is \(slot), expected \(job.createdAt + .seconds(Int64(index + 1))): a slot was lost")
                break
            }
            #expect(slots.count >= 15, "only \(slots.count) slots in the run")
            // No effect duplicated: the endpoint saw exactly the tickets' keys, one per slot. A key may arrive more
            // than once (a call that reached the endpoint from a host cut off before it could record the result is
            // retried with the same key); the endpoint applies a key once, so that is one effect.
            let counts = server.keyCounts
            let ticketKeys = Set(tickets.map(\.id.hex))
            let calledKeys = Set(counts.keys).subtracting(["none"])
            #expect(ticketKeys.isSubset(of: calledKeys), "tickets whose call never arrived: \(ticketKeys.subtracting(calledKeys).count)")
            let stray = calledKeys.subtracting(Set(try await stores.tickets.all(TicketFilter(jobName: "across")).map(\.id.hex)))
            #expect(stray.isEmpty, "calls with keys of no ticket: \(stray)")
            print("several hosts: \(slots.count) slots, \(counts.values.reduce(0, +)) calls, \(counts.filter { $0.value > 1 }.count) keys retried")
        }
    }
}

