import Testing
import ZeroMQ

@Suite(.timeLimit(.minutes(1)))
struct ErrorTests {
    @Test(arguments: [
        ("not-an-endpoint", ZMQError.Code.invalidArgument),
        ("bogus://127.0.0.1:5555", .protocolNotSupported),
        ("tcp://127.0.0.1", .invalidArgument),
    ])
    func bindMapsErrno(endpoint: String, expected: ZMQError.Code) throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .router)
        let error = #expect(throws: ZMQError.self) { try socket.bind(endpoint) }
        #expect(error?.code == expected)
        #expect(error?.operation.contains("zmq_bind") == true)
        #expect(error?.operation.contains(endpoint) == true)
        #expect(error?.message.isEmpty == false)
    }

    @Test func bindingTheSamePortTwiceIsAddressInUse() throws {
        let context = try ZMQContext()
        let first = try ZMQSocket(context: context, type: .router)
        let endpoint = try bindFresh(first, .tcp)
        let second = try ZMQSocket(context: context, type: .router)
        let error = #expect(throws: ZMQError.self) { try second.bind(endpoint) }
        #expect(error?.code == .addressInUse)
    }

    @Test func unbindingUnknownEndpointIsNoEntry() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .router)
        let error = #expect(throws: ZMQError.self) { try socket.unbind("tcp://127.0.0.1:1") }
        #expect(error?.code == .noEntry)
    }

    @Test func unbindAndDisconnectUseResolvedEndpoints() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        let endpoint = try bindFresh(router, .tcp)
        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.connect(endpoint)
        try dealer.disconnect(endpoint)
        try router.unbind(endpoint)
        // A second attempt proves the first one removed the endpoint.
        let disconnectAgain = #expect(throws: ZMQError.self) { try dealer.disconnect(endpoint) }
        #expect(disconnectAgain?.code == .noEntry)
        let unbindAgain = #expect(throws: ZMQError.self) { try router.unbind(endpoint) }
        #expect(unbindAgain?.code == .noEntry)
    }

    @Test func sendingNoFramesIsInvalid() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .push)
        let error = #expect(throws: ZMQError.self) { try socket.send([]) }
        #expect(error?.code == .invalidArgument)
    }

    @Test func subscribeOnNonSubSocketIsInvalid() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .push)
        let error = #expect(throws: ZMQError.self) { try socket.subscribe(bytes("x")) }
        #expect(error?.code == .invalidArgument)
    }

    @Test func wouldBlockBecomesFalseOrNil() throws {
        let context = try ZMQContext()
        let sender = try ZMQSocket(context: context, type: .dealer)
        try sender.set(.immediate, true)
        try sender.connect("tcp://127.0.0.1:1")
        #expect(try sender.send([bytes("x")], dontWait: true) == false)

        let receiver = try ZMQSocket(context: context, type: .pull)
        _ = try bindFresh(receiver, .inproc)
        #expect(try receiver.receive(dontWait: true) == nil)
    }

    @Test func receiveTimeoutReturnsNilAfterTheTimeout() throws {
        let context = try ZMQContext()
        let receiver = try ZMQSocket(context: context, type: .pull)
        _ = try bindFresh(receiver, .inproc)
        try receiver.set(.receiveTimeout, 50)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(try receiver.receive() == nil)
        let elapsed = start.duration(to: clock.now)
        #expect(elapsed >= .milliseconds(45) && elapsed < .seconds(2))
    }

    @Test func codesPatternMatchInCatchClauses() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.set(.routerMandatory, true)
        #expect(Self.classify { try router.send([bytes("ghost"), bytes("x")]) } == "unreachable")
        #expect(Self.classify { throw ZMQError(errno: ZMQError.Code.wouldBlock.rawValue, operation: "t") } == "again")
        #expect(Self.classify { throw CancellationError() } == "other")
    }

    @Test func codesPatternMatchAfterTypedThrowsCalls() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.set(.routerMandatory, true)
        #expect(try Self.sendClassified(router) == "unreachable")
    }

    private static func sendClassified(_ router: ZMQSocket) throws -> String {
        do {
            try router.send([bytes("ghost"), bytes("x")])
            return "sent"
        } catch ZMQError.Code.wouldBlock {
            return "again"
        } catch .hostUnreachable {
            return "unreachable"
        }
    }

    /// Exercises `catch Code.x` against an untyped `any Error`, the way callers mixing
    /// ZeroMQ with other throwing code will see it.
    private static func classify(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "none"
        } catch ZMQError.Code.wouldBlock {
            return "again"
        } catch ZMQError.Code.hostUnreachable {
            return "unreachable"
        } catch {
            return "other"
        }
    }

    @Test func errorsCompareByValueAndDescribeThemselves() {
        let a = ZMQError(errno: ZMQError.Code.terminated.rawValue, operation: "zmq_send")
        let b = ZMQError(errno: ZMQError.Code.terminated.rawValue, operation: "zmq_send")
        let c = ZMQError(errno: ZMQError.Code.wouldBlock.rawValue, operation: "zmq_send")
        #expect(a == b)
        #expect(a != c)
        #expect(a.code == .terminated)
        #expect(a.message == "Context was terminated")
        #expect(a.description.contains("zmq_send"))
        #expect(ZMQError.Code.wouldBlock ~= c)
        #expect(!(ZMQError.Code.wouldBlock ~= a))
    }
}
