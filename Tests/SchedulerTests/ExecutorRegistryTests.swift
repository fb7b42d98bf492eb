import BatonCore
import BatonStore
import Testing

@testable import Scheduler

@Suite("Executor registry")
struct ExecutorRegistryTests {
    let now = Timestamp(milliseconds: 1_000_000)
    let a = Array("exec-a".utf8)
    let b = Array("exec-b".utf8)

    func hello(_ id: String, capacity: Int = 4, queues: [String] = ["default"]) -> WireMessage.Hello {
        WireMessage.Hello(executor: id, capacity: capacity, version: "test", queues: queues)
    }

    @Test func creditIsAbsoluteAndCappedByCapacity() {
        var registry = ExecutorRegistry()
        let early = registry.credit(a, 3, now: now)
        #expect(!early, "credit before HELLO is ignored")
        let first = registry.hello(a, hello("exec-a"), now: now)
        let repeated = registry.hello(a, hello("exec-a"), now: now)
        #expect(first == .registered)
        #expect(repeated == .refreshed, "a repeated HELLO is not news")
        let accepted = registry.credit(a, 3, now: now)
        #expect(accepted)
        #expect(registry.usableCredit(now: now) == 3)
        registry.credit(a, 1000, now: now)
        #expect(registry.usableCredit(now: now) == 4)
        registry.credit(a, -5, now: now)
        #expect(registry.usableCredit(now: now) == 0)
    }

    @Test func takeRotatesAndRespectsQueuesAndCredit() {
        var registry = ExecutorRegistry()
        registry.hello(a, hello("exec-a"), now: now)
        registry.hello(b, hello("exec-b", queues: ["gpu"]), now: now)
        registry.credit(a, 2, now: now)
        registry.credit(b, 2, now: now)
        do {
            let taken = registry.take(queue: "gpu", avoid: nil, now: now)
            #expect(taken == b)
        }
        do {
            let taken = registry.take(queue: "default", avoid: nil, now: now)
            #expect(taken == a)
        }
        do {
            let taken = registry.take(queue: "default", avoid: nil, now: now)
            #expect(taken == a)
        }
        do {
            let taken = registry.take(queue: "default", avoid: nil, now: now)
            #expect(taken == nil, "a is out of credit and b does not serve default")
        }
        #expect(registry.usableCredit(now: now) == 1)
    }

    @Test func aRedeliveredTicketPrefersAnotherExecutor() {
        var registry = ExecutorRegistry()
        registry.hello(a, hello("exec-a"), now: now)
        registry.hello(b, hello("exec-b"), now: now)
        registry.credit(a, 4, now: now)
        registry.credit(b, 1, now: now)
        do {
            let taken = registry.take(queue: "default", avoid: b, now: now)
            #expect(taken == a)
        }
        do {
            let taken = registry.take(queue: "default", avoid: a, now: now)
            #expect(taken == b)
        }
        // Only the avoided one has credit left: it still gets the ticket rather than nobody.
        do {
            let taken = registry.take(queue: "default", avoid: a, now: now)
            #expect(taken == a)
        }
    }

    @Test func silentExecutorsExpireAndByeRemoves() {
        var registry = ExecutorRegistry()
        registry.hello(a, hello("exec-a"), now: now)
        registry.hello(b, hello("exec-b"), now: now + .seconds(4))
        registry.expire(now: now + .seconds(6), timeout: .seconds(5))
        #expect(registry.peers.keys.sorted { $0.lexicographicallyPrecedes($1) } == [b])
        #expect(registry.routingID(ofExecutor: "exec-b") == b)
        registry.remove(b)
        #expect(registry.peers.isEmpty)
        do {
            let taken = registry.take(queue: "default", avoid: nil, now: now)
            #expect(taken == nil)
        }
    }
}

/// A peer that takes offers and never claims them (CONTRACT §8: a forged message may delay a ticket, never lose
/// it). The leader learns of claims from the due queue in the database, which a peer cannot forge.
@Suite("Executor registry: caps and peers that never claim")
struct UnclaimingPeerTests {
    let t0 = Timestamp(milliseconds: 5_000_000)
    let real = Array("real".utf8)
    let rogue = Array("rogue".utf8)
    let other = Array("other-rogue".utf8)

    func hello(_ id: String, capacity: Int = 16) -> WireMessage.Hello {
        WireMessage.Hello(executor: id, capacity: capacity, version: "test")
    }

    func ticket(_ n: Int) -> (id: TicketID, position: DueCursor) {
        (TicketID.manual(job: JobID(rawValue: "job"), idempotencyKey: "\(n)"), DueCursor(notBefore: t0.milliseconds, seq: Int64(n)))
    }

    /// A registry with a proven real executor (offered ticket 0, seen claiming it) and a rogue, both with credit.
    func registryWithRogue() -> ExecutorRegistry {
        var registry = ExecutorRegistry(maximumPeers: 8, redeliverAfter: .seconds(2))
        registry.hello(real, hello("real"), now: t0)
        registry.hello(rogue, hello("rogue", capacity: 1024), now: t0)
        registry.credit(real, 16, now: t0)
        registry.credit(rogue, 1024, now: t0)
        registry.offered(real, ticket: ticket(0).id, position: ticket(0).position, now: t0)
        registry.observe(due: [], readThrough: nil, now: t0 + .milliseconds(250))
        return registry
    }

    @Test func helloBeyondThePeerCapIsIgnoredUntilAPeerLeaves() {
        var registry = ExecutorRegistry(maximumPeers: 2)
        let first = registry.hello(real, hello("real"), now: t0)
        let second = registry.hello(rogue, hello("rogue"), now: t0)
        let third = registry.hello(other, hello("other"), now: t0)
        #expect([first, second, third] == [.registered, .registered, .refusedFull])
        #expect(registry.peers.count == 2)
        let credited = registry.credit(other, 5, now: t0)
        #expect(!credited, "a refused peer's credit is ignored")
        let again = registry.hello(real, hello("real"), now: t0)
        #expect(again == .refreshed, "known peers keep talking")
        registry.remove(rogue)
        let afterLeave = registry.hello(other, hello("other"), now: t0)
        #expect(afterLeave == .registered)
    }

    @Test func aPeerThatClaimsNothingWithinRedeliverAfterIsSuspendedAndItsTicketGoesElsewhere() throws {
        var registry = registryWithRogue()
        // The proven executor comes first; the rogue gets a ticket only when it has no credit, and then only one
        // until it is seen claiming (probation).
        registry.credit(real, 0, now: t0 + .seconds(1))
        var sentToRogue: [(id: TicketID, position: DueCursor)] = []
        for n in 1...4 {
            let taken = registry.take(queue: "default", avoid: nil, now: t0 + .seconds(1))
            if let peer = taken {
                registry.offered(peer, ticket: ticket(n).id, position: ticket(n).position, now: t0 + .seconds(1))
                if peer == rogue { sentToRogue.append(ticket(n)) }
            }
        }
        registry.credit(real, 16, now: t0 + .seconds(1))
        #expect(sentToRogue.count == 1)
        #expect(registry.awaitsFirstClaim, "the leader reads the due queue soon to learn whether the rogue claims")
        // 250 ms polls: the rogue's tickets stay due.
        registry.observe(due: Set(sentToRogue.map { $0.id }), readThrough: nil, now: t0 + .milliseconds(1250))
        #expect(!registry.isSuspended(rogue, now: t0 + .milliseconds(1250)), "not before BATON_REDELIVER_AFTER")

        let redeliverAt = t0 + .seconds(3)
        let suspension = registry.unclaimed(rogue, ticket: sentToRogue[0].id, sentAt: t0 + .seconds(1), now: redeliverAt)
        #expect(suspension == ExecutorRegistry.Suspension(strikes: 1, until: redeliverAt + .seconds(2)))
        #expect(registry.usableCredit(now: redeliverAt) == 16, "the rogue's 1024 credit no longer counts")
        // The redelivered ticket, and every other one, goes to the real executor while the rogue is suspended.
        for _ in 0..<10 {
            let taken = registry.take(queue: "default", avoid: rogue, now: redeliverAt)
            #expect(taken == real)
        }
        let none = registry.take(queue: "default", avoid: nil, now: redeliverAt + .milliseconds(1))
        #expect(none == real, "a suspended peer is never offered a ticket, fallback or not")
    }

    @Test func suspensionsDoubleSurviveByeAndHelloAndEndWithAClaim() {
        var registry = registryWithRogue()
        var now = t0 + .seconds(3)
        let first = registry.unclaimed(rogue, ticket: ticket(1).id, sentAt: t0, now: now)
        #expect(first?.strikes == 1)
        // Leaving and saying HELLO again does not clear it.
        registry.remove(rogue)
        registry.hello(rogue, hello("rogue", capacity: 1024), now: now)
        registry.credit(rogue, 1024, now: now)
        #expect(registry.isSuspended(rogue, now: now))
        // Served its suspension, offered again, still claims nothing: twice as long.
        now = now + .seconds(2)
        #expect(!registry.isSuspended(rogue, now: now))
        let offeredAgain = registry.take(queue: "default", avoid: real, now: now)
        #expect(offeredAgain == rogue)
        registry.offered(rogue, ticket: ticket(2).id, position: ticket(2).position, now: now)
        let second = registry.unclaimed(rogue, ticket: ticket(2).id, sentAt: now, now: now + .seconds(2))
        #expect(second == ExecutorRegistry.Suspension(strikes: 2, until: now + .seconds(2) + .seconds(4)))
        // Many strikes: capped.
        var last = second
        var at = now + .seconds(10)
        for n in 3...40 {
            at = at + .minutes(10)
            last = registry.unclaimed(rogue, ticket: ticket(n).id, sentAt: at - .seconds(3), now: at)
        }
        #expect(last?.until == at + ExecutorRegistry.maximumSuspension)
        // A claim seen after the suspension ends clears the strikes.
        at = at + ExecutorRegistry.maximumSuspension
        registry.offered(rogue, ticket: ticket(99).id, position: ticket(99).position, now: at)
        registry.observe(due: [], readThrough: nil, now: at + .milliseconds(250))
        #expect(registry.suspensions[rogue] == nil)
    }

    @Test func aPeerSeenClaimingSinceTheOfferIsNotSuspendedForOneLostOffer() {
        var registry = registryWithRogue()
        let now = t0 + .seconds(1)
        registry.offered(real, ticket: ticket(1).id, position: ticket(1).position, now: now)
        registry.offered(real, ticket: ticket(2).id, position: ticket(2).position, now: now)
        // Ticket 2 was claimed, ticket 1 was not (say its offer was lost).
        registry.observe(due: [ticket(1).id], readThrough: nil, now: now + .milliseconds(250))
        let suspension = registry.unclaimed(real, ticket: ticket(1).id, sentAt: now, now: now + .seconds(2))
        #expect(suspension == nil)
        #expect(!registry.isSuspended(real, now: now + .seconds(2)))
    }

    @Test func anOfferBeyondTheReadIsNotTakenForAClaim() {
        var registry = ExecutorRegistry(maximumPeers: 8)
        registry.hello(rogue, hello("rogue"), now: t0)
        registry.offered(rogue, ticket: ticket(10).id, position: ticket(10).position, now: t0)
        // The read stopped at ticket 5: ticket 10 was not read, so its absence proves nothing.
        registry.observe(due: [ticket(5).id], readThrough: ticket(5).position, now: t0 + .milliseconds(250))
        #expect(registry.peers[rogue]?.lastClaimSeen == nil)
        let suspension = registry.unclaimed(rogue, ticket: ticket(10).id, sentAt: t0, now: t0 + .seconds(2))
        #expect(suspension != nil)
    }

    @Test func aRedeliveryPrefersAnExecutorSeenClaimingOverAnotherStranger() {
        var registry = registryWithRogue()
        registry.hello(other, hello("other", capacity: 1024), now: t0)
        registry.credit(other, 1024, now: t0)
        // Whatever the rotation, a ticket the rogue left unclaimed goes to the proven executor, not to `other`.
        for _ in 0..<6 {
            let taken = registry.take(queue: "default", avoid: rogue, now: t0 + .seconds(1))
            #expect(taken == real)
        }
        // First deliveries too go to the proven executor while it has credit; then to peers on probation.
        let firsts = (0..<6).compactMap { _ in registry.take(queue: "default", avoid: nil, now: t0 + .seconds(1)) }
        #expect(Set(firsts) == [real])
        registry.credit(real, 0, now: t0 + .seconds(1))
        let spare = (0..<2).compactMap { _ in registry.take(queue: "default", avoid: nil, now: t0 + .seconds(1)) }
        #expect(Set(spare) == [rogue, other])
    }
}
