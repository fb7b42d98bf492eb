import Testing
import ZeroMQ

@Suite(.timeLimit(.minutes(1)))
struct ContextTests {
    /// Creates a context whose only socket has messages queued for a peer that never
    /// answers, then releases everything; the context's termination happens inside.
    private func abandonQueuedMessages(linger: Int32?) throws -> Int {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        if let linger {
            try socket.set(.linger, linger)
        }
        // Port 1 on loopback is not listening; libzmq keeps retrying in the background.
        try socket.connect("tcp://127.0.0.1:1")
        var queued = 0
        for index in 0..<100 where try socket.send([bytes("job-\(index)")], dontWait: true) {
            queued += 1
        }
        return queued
    }

    @Test(arguments: [nil, 0] as [Int32?])
    func terminationIsPromptWithUnsentMessages(linger: Int32?) throws {
        let clock = ContinuousClock()
        let start = clock.now
        let queued = try abandonQueuedMessages(linger: linger)
        let elapsed = start.duration(to: clock.now)
        #expect(queued == 100, "messages must really be pending for this test to mean anything")
        #expect(elapsed < .seconds(1))
    }

    @Test func newSocketsDefaultToZeroLinger() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .push)
        #expect(try socket.get(.linger) == 0)
    }

    @Test func shutdownFailsOperationsWithTerminated() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .pull)
        _ = try bindFresh(socket, .inproc)
        context.shutdown()
        context.shutdown()

        let receiveError = #expect(throws: ZMQError.self) { try socket.receive() }
        #expect(receiveError?.code == .terminated)
        let createError = #expect(throws: ZMQError.self) { try ZMQSocket(context: context, type: .push) }
        #expect(createError?.code == .terminated)
    }

    @Test func closeIsIdempotentAndLaterUseThrowsNotSocket() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .push)
        #expect(!socket.isClosed)
        socket.close()
        socket.close()
        #expect(socket.isClosed)
        let error = #expect(throws: ZMQError.self) { try socket.send([bytes("x")]) }
        #expect(error?.code == .notSocket)
    }
}
