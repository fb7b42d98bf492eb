import BatonCore
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
        #expect(first)
        #expect(!repeated, "a repeated HELLO is not news")
        let accepted = registry.credit(a, 3, now: now)
        #expect(accepted)
        #expect(registry.totalCredit == 3)
        registry.credit(a, 1000, now: now)
        #expect(registry.totalCredit == 4)
        registry.credit(a, -5, now: now)
        #expect(registry.totalCredit == 0)
    }

    @Test func takeRotatesAndRespectsQueuesAndCredit() {
        var registry = ExecutorRegistry()
        registry.hello(a, hello("exec-a"), now: now)
        registry.hello(b, hello("exec-b", queues: ["gpu"]), now: now)
        registry.credit(a, 2, now: now)
        registry.credit(b, 2, now: now)
        do {
            let taken = registry.take(queue: "gpu", avoid: nil)
            #expect(taken == b)
        }
        do {
            let taken = registry.take(queue: "default", avoid: nil)
            #expect(taken == a)
        }
        do {
            let taken = registry.take(queue: "default", avoid: nil)
            #expect(taken == a)
        }
        do {
            let taken = registry.take(queue: "default", avoid: nil)
            #expect(taken == nil, "a is out of credit and b does not serve default")
        }
        #expect(registry.totalCredit == 1)
    }

    @Test func aRedeliveredTicketPrefersAnotherExecutor() {
        var registry = ExecutorRegistry()
        registry.hello(a, hello("exec-a"), now: now)
        registry.hello(b, hello("exec-b"), now: now)
        registry.credit(a, 4, now: now)
        registry.credit(b, 1, now: now)
        do {
            let taken = registry.take(queue: "default", avoid: b)
            #expect(taken == a)
        }
        do {
            let taken = registry.take(queue: "default", avoid: a)
            #expect(taken == b)
        }
        // Only the avoided one has credit left: it still gets the ticket rather than nobody.
        do {
            let taken = registry.take(queue: "default", avoid: a)
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
            let taken = registry.take(queue: "default", avoid: nil)
            #expect(taken == nil)
        }
    }
}

@Suite("Doorbell")
struct DoorbellTests {
    @Test func aRingWakesAWaiterLongBeforeItsTimeout() async {
        let bell = Doorbell()
        let clock = ContinuousClock()
        let started = clock.now
        async let waited: Void = bell.wait(timeout: .seconds(30))
        bell.ring()
        await waited
        #expect(clock.now - started < .seconds(10))
    }

    @Test func aRingWithNobodyWaitingIsRememberedOnce() async {
        let bell = Doorbell()
        bell.ring()
        bell.ring()
        let clock = ContinuousClock()
        let started = clock.now
        await bell.wait(timeout: .seconds(30))  // returns at once: the ring was remembered
        #expect(clock.now - started < .seconds(10))
        let second = clock.now
        await bell.wait(timeout: .milliseconds(50))  // the two rings counted as one: this one times out
        #expect(clock.now - second >= .milliseconds(50))
    }
}
