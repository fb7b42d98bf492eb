import Testing
import ZeroMQ

@Suite(.timeLimit(.minutes(1)))
struct SocketOptionTests {
    @Test(arguments: [
        (ZMQSocketOption<Int32>.linger, Int32(250)),
        (.sendHighWaterMark, 10),
        (.receiveHighWaterMark, 20),
        (.receiveTimeout, 30),
        (.sendTimeout, 40),
        (.reconnectInterval, 500),
        (.heartbeatInterval, 1000),
        (.heartbeatTimeout, 3000),
    ])
    func integerOptionsRoundTrip(option: ZMQSocketOption<Int32>, value: Int32) throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        try socket.set(option, value)
        #expect(try socket.get(option) == value)
    }

    @Test func maxMessageSizeAndImmediateRoundTrip() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .dealer)
        #expect(try socket.get(.maxMessageSize) == -1)
        try socket.set(.maxMessageSize, 1 << 20)
        #expect(try socket.get(.maxMessageSize) == 1 << 20)
        #expect(try socket.get(.immediate) == false)
        try socket.set(.immediate, true)
        #expect(try socket.get(.immediate) == true)
    }

    @Test func lastEndpointIsNilBeforeBind() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .router)
        #expect(try socket.lastEndpoint == nil)
        try socket.bind("tcp://127.0.0.1:*")
        let endpoint = try #require(try socket.lastEndpoint)
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
        #expect(Int(endpoint.split(separator: ":").last ?? "") != nil)
    }
}
