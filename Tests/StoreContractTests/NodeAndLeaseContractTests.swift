import BatonCore
import BatonStore
import Testing

@Suite("Contract: nodes, the leader lease, health")
struct NodeAndLeaseContractTests {
    let t0 = StoreFixture.t0

    func executor(_ id: String, pid: Int, capacity: Int = 4, inFlight: Int = 0, queues: [String] = ["default"], lastSeen: Timestamp)
        -> ExecutorNode
    {
        ExecutorNode(
            id: id, host: "host-\(id)", pid: pid, capacity: capacity, inFlight: inFlight, queues: queues, version: "1.2.3",
            startedAt: t0, lastSeen: lastSeen)
    }

    @Test(arguments: StoreBackend.all)
    func executorsRegisterUpdateListPageAndGo(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        try await store.nodes.heartbeat(executor: executor("exec-b", pid: 2, lastSeen: t0))
        try await store.nodes.heartbeat(executor: executor("exec-a", pid: 1, lastSeen: t0 + .seconds(1)))
        try await store.nodes.heartbeat(executor: executor("exec-c", pid: 3, queues: ["default", "gpu"], lastSeen: t0 + .seconds(2)))
        // A later heartbeat updates capacity, load, queues and when it was seen.
        let updated = executor("exec-a", pid: 1, capacity: 8, inFlight: 3, queues: ["batch"], lastSeen: t0 + .seconds(10))
        try await store.nodes.heartbeat(executor: updated)

        let all = try await store.nodes.executors(seenSince: t0)
        #expect(all.map(\.id) == ["exec-a", "exec-b", "exec-c"])
        #expect(all.first == updated)
        #expect(all.last?.queues == ["default", "gpu"])
        #expect(try await store.nodes.executors(seenSince: t0 + .seconds(2)).map(\.id) == ["exec-a", "exec-c"])

        let first = try await store.nodes.executors(seenSince: t0, limit: 2, after: nil)
        #expect(first.items.map(\.id) == ["exec-a", "exec-b"])
        let second = try await store.nodes.executors(seenSince: t0, limit: 2, after: first.nextCursor)
        #expect(second.items.map(\.id) == ["exec-c"])
        #expect(second.nextCursor == nil)

        try await store.nodes.remove(executor: "exec-b")
        #expect(try await store.nodes.executors(seenSince: t0).map(\.id) == ["exec-a", "exec-c"])
    }

    @Test(arguments: StoreBackend.all)
    func schedulersRegisterAndStaleNodesAreForgotten(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        try await store.nodes.heartbeat(scheduler: StoreFixture.identity("sched-1"), startedAt: t0, now: t0 + .seconds(1), tickLagMs: 5)
        try await store.nodes.heartbeat(scheduler: StoreFixture.identity("sched-2"), startedAt: t0, now: t0 + .seconds(1), tickLagMs: nil)
        // A later heartbeat moves last-seen and the lag, not the start.
        try await store.nodes.heartbeat(
            scheduler: StoreFixture.identity("sched-1"), startedAt: t0 + .seconds(4), now: t0 + .seconds(5), tickLagMs: 7)
        let schedulers = try await store.nodes.schedulers(seenSince: t0)
        #expect(
            schedulers == [
                SchedulerNode(
                    id: "sched-1", host: "test", pid: 1, endpoint: "tcp://127.0.0.1:0", startedAt: t0, lastSeen: t0 + .seconds(5),
                    tickLagMs: 7),
                SchedulerNode(
                    id: "sched-2", host: "test", pid: 1, endpoint: "tcp://127.0.0.1:0", startedAt: t0, lastSeen: t0 + .seconds(1),
                    tickLagMs: nil),
            ])
        #expect(try await store.nodes.schedulers(seenSince: t0 + .seconds(2)).map(\.id) == ["sched-1"])

        try await store.nodes.heartbeat(executor: executor("old", pid: 1, lastSeen: t0 + .seconds(2)))
        try await store.nodes.heartbeat(executor: executor("new", pid: 2, lastSeen: t0 + .seconds(6)))
        // Not seen since t0 + 3 s: sched-2 and the old executor.
        #expect(try await store.nodes.forget(notSeenSince: t0 + .seconds(3)) == 2)
        #expect(try await store.nodes.executors(seenSince: t0).map(\.id) == ["new"])
        #expect(try await store.nodes.schedulers(seenSince: t0).map(\.id) == ["sched-1"])

        try await store.nodes.remove(scheduler: "sched-1")
        #expect(try await store.nodes.schedulers(seenSince: t0).isEmpty)
    }

    @Test(arguments: StoreBackend.all)
    func theLeaseIsTakenRenewedReleasedAndTakenOverWithAHigherEpoch(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        let a = StoreFixture.identity("sched-a")
        let b = StoreFixture.identity("sched-b")
        #expect(try await store.leases.current() == nil)

        let first = try await store.leases.acquireOrRenew(a, epoch: nil, now: t0, ttl: .seconds(10))
        #expect(
            first
                == LeaderLease(
                    holder: "sched-a", epoch: 1, leaseExpiresAt: t0 + .seconds(10), heartbeatAt: t0, host: "test", pid: 1,
                    endpoint: "tcp://127.0.0.1:0"))
        // While it is current, another scheduler only learns who leads.
        let refused = try await store.leases.acquireOrRenew(b, epoch: nil, now: t0 + .seconds(1), ttl: .seconds(10))
        #expect(refused.holder == "sched-a")
        #expect(refused.epoch == 1)

        let renewed = try await store.leases.acquireOrRenew(a, epoch: 1, now: t0 + .seconds(5), ttl: .seconds(10))
        #expect(renewed.epoch == 1)
        #expect(renewed.leaseExpiresAt == t0 + .seconds(15))
        #expect(renewed.heartbeatAt == t0 + .seconds(5))
        #expect(try await store.leases.current() == renewed)

        // A graceful hand-over: released at once, and the standby takes it without waiting for the TTL.
        try await store.leases.release(LeaderFence(holder: "sched-a", epoch: 1), now: t0 + .seconds(6))
        let taken = try await store.leases.acquireOrRenew(b, epoch: nil, now: t0 + .seconds(6), ttl: .seconds(10))
        #expect(taken.holder == "sched-b")
        #expect(taken.epoch == 2)
        // The old leader's release and renewal change nothing now.
        try await store.leases.release(LeaderFence(holder: "sched-a", epoch: 1), now: t0 + .seconds(7))
        let stale = try await store.leases.acquireOrRenew(a, epoch: 1, now: t0 + .seconds(7), ttl: .seconds(10))
        #expect(stale.holder == "sched-b")
        #expect(try await store.leases.current() == taken)

        // Expiry without a release: the next scheduler takes it with the next epoch.
        let expired = try await store.leases.acquireOrRenew(a, epoch: nil, now: t0 + .seconds(16), ttl: .seconds(10))
        #expect(expired.holder == "sched-a")
        #expect(expired.epoch == 3)
    }

    @Test(arguments: StoreBackend.all)
    func aFreshStoreIsReady(_ backend: StoreBackend) async throws {
        let store = try await backend.open()
        #expect(await store.health.isReady())
    }
}
