import Synchronization
import Testing
import ZeroMQ

@Suite(.timeLimit(.minutes(1)))
struct SocketLoopTests {
    struct SetupFailed: Error, Equatable {}

    /// A loop serving one ROUTER (index 0) bound to an ephemeral port.
    private func routerLoop(_ context: ZMQContext, mandatory: Bool = true, maxMessageSize: Int64 = -1) async throws -> (ZMQSocketLoop, String) {
        let loop = try await ZMQSocketLoop(context: context) { context in
            let router = try ZMQSocket(context: context, type: .router)
            try router.set(.routerMandatory, mandatory)
            try router.set(.maxMessageSize, maxMessageSize)
            try router.bind("tcp://127.0.0.1:*")
            return [router]
        }
        let endpoint = try #require(loop.endpoints.first ?? nil)
        return (loop, endpoint)
    }

    /// A loop serving one DEALER (index 0) with `identity`, connected to `endpoint`.
    private func dealerLoop(_ context: ZMQContext, identity: String, endpoint: String) async throws -> ZMQSocketLoop {
        try await ZMQSocketLoop(context: context) { context in
            let dealer = try ZMQSocket(context: context, type: .dealer)
            try dealer.set(.routingID, bytes(identity))
            try dealer.connect(endpoint)
            return [dealer]
        }
    }

    @Test func asyncRoundTripBetweenTwoLoops() async throws {
        let context = try ZMQContext()
        let (router, endpoint) = try await routerLoop(context)
        let worker = try await dealerLoop(context, identity: "worker-1", endpoint: endpoint)
        var routerEvents = router.events.makeAsyncIterator()
        var workerEvents = worker.events.makeAsyncIterator()

        #expect(worker.send([bytes("ready")], on: 0))
        #expect(await nextEvent(&routerEvents) == .received(socketIndex: 0, frames: [bytes("worker-1"), bytes("ready")]))

        #expect(router.send([bytes("worker-1"), bytes("job-7"), []], on: 0))
        #expect(await nextEvent(&workerEvents) == .received(socketIndex: 0, frames: [bytes("job-7"), []]))

        await worker.shutdown()
        await router.shutdown()
        #expect(router.droppedSendCount == 0)
    }

    @Test func loopTalksToAPlainSocketAndServesSeveralSockets() async throws {
        let context = try ZMQContext()
        let loop = try await ZMQSocketLoop(context: context) { context in
            let pull = try ZMQSocket(context: context, type: .pull)
            try pull.bind("tcp://127.0.0.1:*")
            let push = try ZMQSocket(context: context, type: .push)
            try push.bind("tcp://127.0.0.1:*")
            return [pull, push]
        }
        let endpoints = loop.endpoints.compactMap { $0 }
        #expect(endpoints.count == 2)

        let producer = try ZMQSocket(context: context, type: .push)
        try producer.connect(endpoints[0])
        let consumer = try ZMQSocket(context: context, type: .pull)
        try consumer.connect(endpoints[1])

        var events = loop.events.makeAsyncIterator()
        try producer.send([bytes("in")])
        #expect(await nextEvent(&events) == .received(socketIndex: 0, frames: [bytes("in")]))
        loop.send([bytes("out")], on: 1)
        #expect(try receive(consumer) == [bytes("out")])
        await loop.shutdown()
    }

    @Test func shutdownFinishesTheStreamPromptlyAndRejectsLaterSends() async throws {
        let context = try ZMQContext()
        let (loop, endpoint) = try await routerLoop(context)
        // A connected peer and traffic in flight must not delay shutdown.
        let worker = try ZMQSocket(context: context, type: .dealer)
        try worker.connect(endpoint)
        try worker.send([bytes("hello")])

        let clock = ContinuousClock()
        let start = clock.now
        await loop.shutdown()
        #expect(start.duration(to: clock.now) < .seconds(1))

        var remaining = 0
        for await _ in loop.events {
            remaining += 1
        }
        #expect(remaining <= 1)
        #expect(!loop.send([bytes("late")], on: 0))
        await loop.shutdown()
    }

    @Test func releasingTheLoopStopsItsThread() async throws {
        let context = try ZMQContext()
        var loop: ZMQSocketLoop? = try await routerLoop(context).0
        let events = try #require(loop?.events)
        loop = nil
        var count = 0
        for await _ in events {
            count += 1
        }
        #expect(count == 0)
    }

    @Test func contextShutdownEndsTheLoop() async throws {
        let context = try ZMQContext()
        let (loop, _) = try await routerLoop(context)
        context.shutdown()
        for await _ in loop.events {}
        await loop.shutdown()
        #expect(!loop.send([bytes("x")], on: 0))
    }

    @Test func unreachablePeerIsReportedAndCounted() async throws {
        let context = try ZMQContext()
        let (loop, _) = try await routerLoop(context)
        var events = loop.events.makeAsyncIterator()
        let frames = [bytes("ghost"), bytes("job")]
        loop.send(frames, on: 0)

        guard case .sendFailed(let index, let failedFrames, let error) = await nextEvent(&events) else {
            Issue.record("expected a send failure")
            return
        }
        #expect(index == 0)
        #expect(failedFrames == frames)
        #expect(error.code == .hostUnreachable)
        #expect(loop.droppedSendCount == 1)
        await loop.shutdown()
    }

    @Test(arguments: [-1, 1, 99])
    func unknownSocketIndexIsReportedNotFatal(index: Int) async throws {
        let context = try ZMQContext()
        let (loop, _) = try await routerLoop(context)
        var events = loop.events.makeAsyncIterator()
        loop.send([bytes("x")], on: index)
        guard case .sendFailed(let reported, _, let error) = await nextEvent(&events) else {
            Issue.record("expected a send failure")
            return
        }
        #expect(reported == index)
        #expect(error.code == .invalidArgument)
        await loop.shutdown()
    }

    @Test func fullQueueIsReportedAsWouldBlock() async throws {
        let context = try ZMQContext()
        let loop = try await ZMQSocketLoop(context: context) { context in
            let push = try ZMQSocket(context: context, type: .push)
            try push.set(.immediate, true)
            try push.connect("tcp://127.0.0.1:1")
            return [push]
        }
        var events = loop.events.makeAsyncIterator()
        loop.send([bytes("x")], on: 0)
        guard case .sendFailed(_, _, let error) = await nextEvent(&events) else {
            Issue.record("expected a send failure")
            return
        }
        #expect(error.code == .wouldBlock)
        await loop.shutdown()
    }

    @Test func setupErrorsPropagateFromInit() async throws {
        let context = try ZMQContext()
        await #expect(throws: SetupFailed.self) {
            _ = try await ZMQSocketLoop(context: context) { _ in throw SetupFailed() }
        }
        let error = await #expect(throws: ZMQError.self) {
            _ = try await ZMQSocketLoop(context: context) { context in
                let socket = try ZMQSocket(context: context, type: .router)
                try socket.bind("bogus://nowhere")
                return [socket]
            }
        }
        #expect(error?.code == .protocolNotSupported)
    }

    @Test func oversizedMessageDoesNotReachTheStream() async throws {
        let limit = 1 << 20
        let context = try ZMQContext()
        let (loop, endpoint) = try await routerLoop(context, maxMessageSize: Int64(limit))
        var events = loop.events.makeAsyncIterator()

        let offender = try ZMQSocket(context: context, type: .dealer)
        try offender.set(.routingID, bytes("offender"))
        try offender.connect(endpoint)
        try offender.send([bytes("ping")])
        #expect(await nextEvent(&events) == .received(socketIndex: 0, frames: [bytes("offender"), bytes("ping")]))
        try offender.send([[UInt8](repeating: 0, count: limit + 1)])

        let polite = try ZMQSocket(context: context, type: .dealer)
        try polite.set(.routingID, bytes("polite"))
        try polite.connect(endpoint)
        try polite.send([bytes("hello")])

        let expected = ZMQSocketLoop.Event.received(socketIndex: 0, frames: [bytes("polite"), bytes("hello")])
        while let event = await nextEvent(&events), event != expected {
            if case .received(_, let frames) = event {
                #expect(frames.allSatisfy { $0.count <= limit })
            }
        }
        loop.send([bytes("polite"), bytes("reply")], on: 0)
        #expect(try receive(polite) == [bytes("reply")])
        await loop.shutdown()
    }

    @Test func dispatchLatencyDoesNotDependOnAPollInterval() async throws {
        let context = try ZMQContext()
        let (router, endpoint) = try await routerLoop(context)
        let worker = try await dealerLoop(context, identity: "w", endpoint: endpoint)
        var routerEvents = router.events.makeAsyncIterator()
        var workerEvents = worker.events.makeAsyncIterator()
        worker.send([bytes("ready")], on: 0)
        _ = await nextEvent(&routerEvents)

        let clock = ContinuousClock()
        var samples: [Duration] = []
        for _ in 0..<200 {
            let start = clock.now
            router.send([bytes("w"), bytes("job")], on: 0)
            guard case .received = await nextEvent(&workerEvents) else {
                Issue.record("worker stream ended")
                return
            }
            samples.append(start.duration(to: clock.now))
        }
        let median = samples.sorted()[samples.count / 2]
        print("SocketLoop dispatch latency p50: \(median)")
        // Not a speed test (benchmarks measure speed): the loop blocks in zmq_poll with no timeout, and a send wakes it
        // through its wake-up descriptor. A loop that (wrongly) relied on a poll interval of 50 ms or more would show a
        // median of at least half of it; 25 ms stays clear of that while two parallel builds load both cores (13.9 ms
        // was seen so, against 10 ms, the bound this test had before).
        #expect(median < .milliseconds(25))
        await worker.shutdown()
        await router.shutdown()
    }
}
