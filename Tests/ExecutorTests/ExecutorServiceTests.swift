import BatonCore
import BatonSQLite
import BatonStore
import BatonSQLiteTestSupport
import Executor
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import ZeroMQ

/// A ROUTER bound on loopback, playing the scheduler: records what executors send and sends what the test says.
final class FakeScheduler: Sendable {
    struct Received: Sendable {
        var peer: [UInt8]
        var frames: [[UInt8]]
        var message: WireMessage? { try? WireMessage.decode(frames) }
    }

    private final class Inbox: Sendable {
        let items = Mutex<[Received]>([])
    }

    let endpoint: String
    private let loop: ZMQSocketLoop
    private let received = Inbox()
    private let collector: Task<Void, Never>

    init() async throws {
        let context = try ZMQContext()
        let loop = try await ZMQSocketLoop(context: context) { context in
            let router = try ZMQSocket(context: context, type: .router)
            try router.bind("tcp://127.0.0.1:*")
            return [router]
        }
        self.loop = loop
        self.endpoint = try #require(loop.endpoints.first ?? nil)
        let received = self.received
        collector = Task {
            for await event in loop.events {
                if case .received(_, let frames) = event, frames.count >= 1 {
                    received.items.withLock { $0.append(Received(peer: frames[0], frames: Array(frames.dropFirst()))) }
                }
            }
        }
    }

    var messages: [WireMessage] { received.items.withLock { $0.compactMap(\.message) } }

    func send(_ frames: [[UInt8]], to peer: String) {
        loop.send([Array(peer.utf8)] + frames, on: 0)
    }

    func send(_ message: WireMessage, to peer: String) {
        send(message.encode(), to: peer)
    }

    func close() async {
        await loop.shutdown()
        await collector.value
    }
}

@Suite("Executor end to end: real ROUTER, real SQLite, real processes")
struct ExecutorServiceTests {
    /// Removed with the suite instance, which Swift Testing makes per test.
    let temporary: TemporarySQLite
    var database: BatonDatabase { temporary.database }
    let logger: Logger

    init() throws {
        temporary = try TemporarySQLite(prefix: "executor")
        var logger = Logger(label: "test.executor")
        logger.logLevel = .critical
        self.logger = logger
    }

    func configuration(_ scheduler: FakeScheduler, id: String, allowCommands: Bool = true) -> ExecutorConfiguration {
        ExecutorConfiguration(
            executorID: id, schedulers: [scheduler.endpoint], capacity: 4, claimTTL: .seconds(3), allowCommands: allowCommands,
            announceInterval: .milliseconds(100), registrationInterval: .milliseconds(200), shutdownGrace: .milliseconds(300),
            killGrace: .milliseconds(300))
    }

    func job(_ name: String, _ action: Action) async throws {
        let spec = JobSpec(name: name, schedule: ScheduleSpec(.every(.hours(1))), action: action, policy: JobPolicy(overlap: .allow))
        _ = try await SQLiteJobStore(database).create(spec, now: SystemWallClock().now())
    }

    func trigger(_ name: String, key: String) async throws -> Ticket {
        try await SQLiteTicketStore(database).trigger(jobName: name, idempotencyKey: key, now: SystemWallClock().now()).ticket
    }

    func ticket(_ id: TicketID) async throws -> Ticket? {
        try await SQLiteTicketStore(database).ticket(id)
    }

    /// Starts an executor in its own service group and waits (bounded) for its first HELLO.
    func start(
        scheduler: FakeScheduler, id: String, allowCommands: Bool = true
    ) async throws -> (ExecutorService, ServiceGroup, Task<Void, any Error>) {
        let service = ExecutorService(
            configuration: configuration(scheduler, id: id, allowCommands: allowCommands), claims: SQLiteClaimStore(database), nodes: SQLiteNodeStore(database),
            logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [service], logger: logger))
        let running = Task { try await group.run() }
        try await waitUntil("HELLO") { scheduler.messages.contains { if case .hello = $0 { true } else { false } } }
        return (service, group, running)
    }

    func notice(_ ticket: Ticket) -> WireMessage.TicketNotice {
        WireMessage.TicketNotice(id: ticket.id)
    }

    @Test func claimsRunsCompletesAndHandsBackOnGracefulShutdown() async throws {
        let scheduler = try await FakeScheduler()
        let id = "exec-\(UUID().uuidString.prefix(8))"
        try await job("fast", .noop)
        try await job("slow", .command(CommandAction(argv: ["sleep", "30"])))
        var fast: [Ticket] = []
        for n in 0..<3 { fast.append(try await trigger("fast", key: "k\(n)")) }
        let slow = try await trigger("slow", key: "s")

        let (service, group, running) = try await start(scheduler: scheduler, id: id)
        #expect(scheduler.messages.contains { if case .hello(let hello) = $0 { hello.executor == id && hello.capacity == 4 } else { false } })
        #expect(scheduler.messages.contains(.credit(WireMessage.Credit(executor: id, n: 4))))

        // Garbage first: counted and dropped, the executor keeps working.
        scheduler.send([Array("nonsense".utf8)], to: id)
        scheduler.send([Array("BATON/1".utf8), Array("TICKETS".utf8), Array("{not json".utf8)], to: id)
        try await waitUntil("malformed frames counted") { service.statistics.wireRejected == 2 }

        scheduler.send(.tickets((fast + [slow]).map(notice)), to: id)
        for ticket in fast {
            try await waitUntil("\(ticket.id) succeeded") { try await self.ticket(ticket.id)?.state == .succeeded }
            let done = try #require(try await self.ticket(ticket.id))
            #expect(done.attempt == 1)
            #expect(done.executor == id)
        }
        try await waitUntil("slow ticket running") { try await self.ticket(slow.id)?.state == .running }
        try await waitUntil("credit reflects the running ticket") {
            scheduler.messages.contains(.credit(WireMessage.Credit(executor: id, n: 3)))
        }
        #expect(scheduler.messages.contains { if case .heartbeat(let beat) = $0 { beat.sender == id } else { false } })
        try await waitUntil("registered") {
            try await SQLiteNodeStore(database).executors(seenSince: Timestamp(milliseconds: 0)).contains { $0.id == id }
        }

        await group.triggerGracefulShutdown()
        try await running.value

        #expect(scheduler.messages.contains(.credit(WireMessage.Credit(executor: id, n: 0))))
        try await waitUntil("BYE") { scheduler.messages.contains(.bye(WireMessage.Bye(sender: id))) }
        let handedBack = try #require(try await ticket(slow.id))
        #expect(handedBack.state == .pending)
        #expect(handedBack.reason == .handedBack)
        #expect(handedBack.attempt == 0)
        #expect(try await SQLiteNodeStore(database).executors(seenSince: Timestamp(milliseconds: 0)).contains { $0.id == id } == false)
        #expect(service.statistics.completed == 4)
        await scheduler.close()
    }

    @Test func aCancelledTicketIsStoppedAndRecordedAsCancelled() async throws {
        let scheduler = try await FakeScheduler()
        let id = "exec-\(UUID().uuidString.prefix(8))"
        try await job("long", .command(CommandAction(argv: ["sleep", "30"])))
        let long = try await trigger("long", key: "c")
        let (_, group, running) = try await start(scheduler: scheduler, id: id)

        // A forged CANCEL (no cancel flag in the database) does not stop the action.
        scheduler.send(.tickets([notice(long)]), to: id)
        try await waitUntil("running") { try await self.ticket(long.id)?.state == .running }
        scheduler.send(.cancel(WireMessage.Cancel(ticket: long.id)), to: id)
        // The API's cancel sets the flag; the leader's CANCEL makes the executor look at once.
        _ = try await SQLiteTicketStore(database).cancel(long.id, now: SystemWallClock().now())
        scheduler.send(.cancel(WireMessage.Cancel(ticket: long.id)), to: id)
        try await waitUntil("cancelled") { try await self.ticket(long.id)?.state == .cancelled }
        let attempts = try #require(try await ticket(long.id)?.attempts)
        #expect(attempts.map(\.outcome) == [.cancelled])

        await group.triggerGracefulShutdown()
        try await running.value
        await scheduler.close()
    }

    @Test func withoutAllowCommandsACommandTicketFailsOnceWithCommandsDisabled() async throws {
        let scheduler = try await FakeScheduler()
        let id = "exec-\(UUID().uuidString.prefix(8))"
        // Three attempts allowed: a retry would leave the ticket `retrying`; CONTRACT §4 fails it at once instead.
        try await job("cmd", .command(CommandAction(argv: ["echo", "never"])))
        let ticket = try await trigger("cmd", key: "d")
        #expect(ticket.maxAttempts == 3)
        let (_, group, running) = try await start(scheduler: scheduler, id: id, allowCommands: false)
        scheduler.send(.tickets([notice(ticket)]), to: id)
        try await waitUntil("the attempt ended") {
            guard let state = try await self.ticket(ticket.id)?.state else { return false }
            return state != .pending && state != .running
        }
        let ended = try #require(try await self.ticket(ticket.id))
        #expect(ended.state == .failed)
        #expect(ended.reason == .commandsDisabled)
        #expect(ended.attempt == 1)
        let attempts = try #require(ended.attempts)
        #expect(attempts.map(\.outcome) == [.failed])
        #expect(attempts.first?.output?.hasPrefix("commands_disabled") == true)

        await group.triggerGracefulShutdown()
        try await running.value
        await scheduler.close()
    }

    @Test func aLostClaimIsKilledAndNotReported() async throws {
        let scheduler = try await FakeScheduler()
        let id = "exec-\(UUID().uuidString.prefix(8))"
        try await job("fenced", .command(CommandAction(argv: ["sleep", "30"])))
        let ticket = try await trigger("fenced", key: "f")
        let (service, group, running) = try await start(scheduler: scheduler, id: id)
        scheduler.send(.tickets([notice(ticket)]), to: id)
        try await waitUntil("running") { try await self.ticket(ticket.id)?.state == .running }

        // The sweeper (as a leader would run it, far in the future) expires the lease; another executor claims it.
        let leases = SQLiteLeaderLeaseStore(database)
        let future = SystemWallClock().now() + .minutes(5)
        let lease = try await leases.acquireOrRenew(
            SchedulerIdentity(id: "s", host: "h", pid: 1, endpoint: "tcp://127.0.0.1:1"), epoch: nil, now: future, ttl: .seconds(10))
        _ = try await SQLiteSchedulerStore(database).expireLeases(LeaderFence(holder: lease.holder, epoch: lease.epoch), now: future, limit: 10)
        let other = try await SQLiteClaimStore(database).claim([ticket.id], executor: "other", now: future, leaseTTL: .minutes(10))
        #expect(other.count == 1)

        // Within a renewal period (1 s) the executor sees the fence, kills the process and reports nothing.
        try await waitUntil("fenced") { service.statistics.claims.fenced == 1 && service.statistics.running == 0 }
        let after = try #require(try await self.ticket(ticket.id))
        #expect(after.state == .running)
        #expect(after.executor == "other")
        #expect(service.statistics.completed == 0)

        await group.triggerGracefulShutdown()
        try await running.value
        await scheduler.close()
    }
}
