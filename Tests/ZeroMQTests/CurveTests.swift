import Synchronization
import Testing
@testable import ZeroMQ

@Suite(.timeLimit(.minutes(1)))
struct CurveTests {
    @Test func thisLibzmqHasCurve() {
        #expect(ZMQCapability.has("curve"))
        #expect(ZMQCapability.curve)
        #expect(!ZMQCapability.has("no-such-capability"))
    }

    @Test func keysRoundTripThroughZ85AndSecretsDoNotPrint() throws {
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey.z85.utf8.count == 40)
        #expect(CurvePublicKey(z85: pair.publicKey.z85) == pair.publicKey)
        let secret = try #require(CurveSecretKey(z85: pair.secretKey.z85))
        #expect(CurveKeyPair(secretKey: secret).publicKey == pair.publicKey, "the public half is derived from the secret")
        #expect(!"\(pair)".contains(pair.secretKey.z85))
        #expect(!"\(pair.secretKey)".contains(pair.secretKey.z85))
        for bad in ["", "short", String(repeating: "a", count: 39), String(repeating: "a", count: 41), String(repeating: " ", count: 40),
                    String(repeating: "\"", count: 40)] {
            #expect(CurvePublicKey(z85: bad) == nil, "\(bad)")
            #expect(CurveSecretKey(z85: bad) == nil, "\(bad)")
        }
    }

    /// A loop serving a CURVE ROUTER that accepts only `allowed`.
    func server(_ context: ZMQContext, keys: CurveKeyPair, allowed: [CurvePublicKey]) async throws -> (ZMQSocketLoop, String) {
        let loop = try await ZMQSocketLoop(context: context, allowList: CurveAllowList(allowed)) { context in
            let router = try ZMQSocket(context: context, type: .router)
            try router.useCurveServer(keys)
            try router.bind("tcp://127.0.0.1:*")
            return [router]
        }
        return (loop, try #require(loop.endpoints.first ?? nil))
    }

    /// A plain DEALER in its own context (as another process would be), optionally a CURVE client.
    func client(_ name: String, endpoint: String, keys: CurveKeyPair?, serverKey: CurvePublicKey) throws -> ZMQSocket {
        let socket = try ZMQSocket(context: try ZMQContext(), type: .dealer)
        try socket.set(.routingID, bytes(name))
        try socket.set(.sendTimeout, 2000)
        if let keys { try socket.useCurveClient(keys, serverKey: serverKey) }
        try socket.connect(endpoint)
        return socket
    }

    @Test func aCurveServerHearsOnlyListedClients() async throws {
        let context = try ZMQContext()
        let serverKeys = try CurveKeyPair.generate()
        let allowedKeys = try CurveKeyPair.generate()
        let strangerKeys = try CurveKeyPair.generate()
        let (loop, endpoint) = try await server(context, keys: serverKeys, allowed: [allowedKeys.publicKey])
        var events = loop.events.makeAsyncIterator()

        let stranger = try client("stranger", endpoint: endpoint, keys: strangerKeys, serverKey: serverKeys.publicKey)
        let plaintext = try client("plaintext", endpoint: endpoint, keys: nil, serverKey: serverKeys.publicKey)
        // libzmq queues these until a handshake completes, which for these two never happens.
        try stranger.send([bytes("HELLO from a stranger")], dontWait: true)
        try plaintext.send([bytes("HELLO in plaintext")], dontWait: true)
        // The stranger's handshake reaches the allow list and is refused.
        guard case .handshakeRefused(_, let refusedKey) = await nextEvent(&events) else {
            Issue.record("expected the stranger's handshake to be refused")
            return
        }
        #expect(refusedKey == strangerKeys.publicKey)

        let allowed = try client("allowed", endpoint: endpoint, keys: allowedKeys, serverKey: serverKeys.publicKey)
        try allowed.send([bytes("one")])
        try allowed.send([bytes("two")])
        var received: [[[UInt8]]] = []
        while received.count < 2, let event = await nextEvent(&events) {
            switch event {
            case .received(_, let frames): received.append(frames)
            case .handshakeRefused(_, let key): #expect(key == nil || key == strangerKeys.publicKey)
            case .sendFailed: Issue.record("unexpected send failure")
            }
        }
        #expect(received == [[bytes("allowed"), bytes("one")], [bytes("allowed"), bytes("two")]])
        #expect(loop.handshakesRefused >= 1)

        // The link works both ways for the allowed client.
        loop.send([bytes("allowed"), bytes("reply")], on: 0)
        #expect(try receive(allowed) == [bytes("reply")])
        await loop.shutdown()
    }

    @Test func withoutAnAllowListTheServerStillRequiresCurve() async throws {
        // CURVE alone: a plaintext client never completes the handshake, so its message never arrives.
        let context = try ZMQContext()
        let serverKeys = try CurveKeyPair.generate()
        let loop = try await ZMQSocketLoop(context: context) { context in
            let router = try ZMQSocket(context: context, type: .router)
            try router.useCurveServer(serverKeys)
            try router.bind("tcp://127.0.0.1:*")
            return [router]
        }
        let endpoint = try #require(loop.endpoints.first ?? nil)
        var events = loop.events.makeAsyncIterator()
        let plaintext = try client("plaintext", endpoint: endpoint, keys: nil, serverKey: serverKeys.publicKey)
        try plaintext.send([bytes("plain")], dontWait: true)
        let keyed = try client("keyed", endpoint: endpoint, keys: try CurveKeyPair.generate(), serverKey: serverKeys.publicKey)
        try keyed.send([bytes("sealed")])
        #expect(await nextEvent(&events) == .received(socketIndex: 0, frames: [bytes("keyed"), bytes("sealed")]))
        await loop.shutdown()
    }

    @Test func theAllowListAnswersZAPRequests() throws {
        let allowed = try CurveKeyPair.generate().publicKey
        let stranger = try CurveKeyPair.generate().publicKey
        let list = CurveAllowList([allowed])
        func request(_ mechanism: String, _ credentials: [[UInt8]]) -> [[UInt8]] {
            [bytes("1.0"), bytes("7"), bytes("baton"), bytes("10.0.0.9"), [], bytes(mechanism)] + credentials
        }
        let yes = list.answer(request("CURVE", [allowed.bytes]))
        #expect(yes.reply == [bytes("1.0"), bytes("7"), bytes("200"), bytes("OK"), bytes(allowed.z85), []])
        #expect(list.answer(request("CURVE", [stranger.bytes])).reply[2] == bytes("400"))
        #expect(list.answer(request("NULL", [])).reply[2] == bytes("400"))
        #expect(list.answer(request("PLAIN", [bytes("user"), bytes("pass")])).reply[2] == bytes("400"))
        #expect(list.answer(request("CURVE", [[1, 2, 3]])).reply[2] == bytes("400"))
        #expect(list.answer([bytes("2.0")]).reply[2] == bytes("500"))
    }
}

@Suite(.timeLimit(.minutes(1)))
struct InboundBoundTests {
    @Test func aFloodWaitsInsideLibzmqNotInTheEventBuffer() async throws {
        let context = try ZMQContext()
        let loop = try await ZMQSocketLoop(context: context, inboundCapacity: 8) { context in
            let pull = try ZMQSocket(context: context, type: .pull)
            try pull.bind("tcp://127.0.0.1:*")
            return [pull]
        }
        let endpoint = try #require(loop.endpoints.first ?? nil)
        let producer = try ZMQSocket(context: try ZMQContext(), type: .push)
        try producer.set(.sendTimeout, 5000)
        try producer.connect(endpoint)
        for n in 0..<200 { try producer.send([bytes("\(n)")]) }

        // The loop reads until its buffer is full, then stops: the rest stays in libzmq's pipes.
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(10))
        while loop.bufferedEvents < 8 && clock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }  // poll, bounded by `deadline`
        #expect(loop.bufferedEvents == 8)
        // A window for the loop to (wrongly) read on; it must not.
        try await Task.sleep(for: .milliseconds(200))  // the span is the test: nothing may be read during it
        #expect(loop.bufferedEvents == 8)

        // Consuming resumes reading: everything arrives, in order, nothing dropped.
        var events = loop.events.makeAsyncIterator()
        for n in 0..<200 {
            #expect(await nextEvent(&events) == .received(socketIndex: 0, frames: [bytes("\(n)")]))
            #expect(loop.bufferedEvents <= 8)
        }
        await loop.shutdown()
    }

    @Test func aCancelledConsumerStopsWaiting() async throws {
        let context = try ZMQContext()
        let loop = try await ZMQSocketLoop(context: context) { context in
            let pull = try ZMQSocket(context: context, type: .pull)
            try pull.bind("tcp://127.0.0.1:*")
            return [pull]
        }
        let consumer = Task {
            var count = 0
            for await _ in loop.events { count += 1 }
            return count
        }
        consumer.cancel()
        #expect(await consumer.value == 0)
        await loop.shutdown()
    }
}
