import Testing
import ZeroMQ

@Suite(.timeLimit(.minutes(1)))
struct MaxMessageSizeTests {
    static let limit = 1 << 20

    @Test func oversizedMessageIsNeverDeliveredAndLaterPeersStillWork() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.set(.maxMessageSize, Int64(Self.limit))
        let endpoint = try bindFresh(router, .tcp)

        // The offender first proves its connection is up, so its oversized frame is on
        // the wire before the well-behaved peer even connects.
        let offender = try ZMQSocket(context: context, type: .dealer)
        try offender.set(.routingID, bytes("offender"))
        try offender.connect(endpoint)
        try offender.send([bytes("ping")])
        #expect(try receive(router) == [bytes("offender"), bytes("ping")])
        try offender.send([[UInt8](repeating: 7, count: Self.limit + 1)])

        let polite = try ZMQSocket(context: context, type: .dealer)
        try polite.set(.routingID, bytes("polite"))
        try polite.connect(endpoint)
        try polite.send([bytes("hello")])

        let hello = [bytes("polite"), bytes("hello")]
        var received: [[[UInt8]]] = []
        while !received.contains(hello), let message = try receive(router) {
            received.append(message)
        }
        received += try drain(router, for: .milliseconds(100))

        #expect(received.contains(hello))
        #expect(received.allSatisfy { $0.allSatisfy { $0.count <= Self.limit } })

        // The router still routes to the polite peer afterwards.
        try router.send([bytes("polite"), bytes("reply")])
        #expect(try receive(polite) == [bytes("reply")])
    }

    @Test func messageAtTheLimitIsDelivered() throws {
        let context = try ZMQContext()
        let receiver = try ZMQSocket(context: context, type: .pull)
        try receiver.set(.maxMessageSize, Int64(Self.limit))
        let sender = try ZMQSocket(context: context, type: .push)
        try sender.connect(try bindFresh(receiver, .tcp))
        try sender.send([[UInt8](repeating: 1, count: Self.limit)])
        #expect(try receive(receiver)?.first?.count == Self.limit)
    }
}
