import Testing
import ZeroMQ

@Suite(.timeLimit(.minutes(1)))
struct RoundTripTests {
    struct Pattern: Sendable, CustomTestStringConvertible {
        let bound: ZMQSocketType
        let connected: ZMQSocketType
        var testDescription: String { "\(connected)->\(bound)" }
    }

    static let patterns = [
        Pattern(bound: .pull, connected: .push),
        Pattern(bound: .pair, connected: .pair),
        Pattern(bound: .dealer, connected: .dealer),
    ]

    @Test(arguments: Transport.allCases, patterns)
    func singleFrameRoundTrip(transport: Transport, pattern: Pattern) throws {
        let context = try ZMQContext()
        let receiver = try ZMQSocket(context: context, type: pattern.bound)
        let sender = try ZMQSocket(context: context, type: pattern.connected)
        try sender.connect(try bindFresh(receiver, transport))

        #expect(try sender.send([bytes("hello")]))
        #expect(try receive(receiver) == [bytes("hello")])
    }

    @Test(arguments: Transport.allCases)
    func multipartPreservesEmptyFramesAndOneMebibyte(transport: Transport) throws {
        let context = try ZMQContext()
        let receiver = try ZMQSocket(context: context, type: .pull)
        try receiver.set(.maxMessageSize, 1 << 20)
        let sender = try ZMQSocket(context: context, type: .push)
        try sender.connect(try bindFresh(receiver, transport))

        let big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let frames: [[UInt8]] = [[], bytes("header"), [], big, [0]]
        try sender.send(frames)

        let received = try #require(try receive(receiver))
        #expect(received.count == frames.count)
        #expect(received.map(\.count) == frames.map(\.count))
        #expect(received == frames)
    }

    @Test func singleEmptyFrameIsAMessage() throws {
        let context = try ZMQContext()
        let receiver = try ZMQSocket(context: context, type: .pull)
        let sender = try ZMQSocket(context: context, type: .push)
        try sender.connect(try bindFresh(receiver, .inproc))

        try sender.send([[]])
        #expect(try receive(receiver) == [[]])
    }

    @Test func publisherReachesOnlyMatchingSubscription() throws {
        let context = try ZMQContext()
        let publisher = try ZMQSocket(context: context, type: .pub)
        let subscriber = try ZMQSocket(context: context, type: .sub)
        try subscriber.subscribe(bytes("jobs."))
        try subscriber.connect(try bindFresh(publisher, .tcp))

        // Subscriptions propagate asynchronously ("slow joiner"), so publish until one
        // arrives instead of sleeping for a guessed interval.
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(5))
        var received: [[UInt8]]?
        while received == nil, clock.now < deadline {
            try publisher.send([bytes("other.x"), bytes("ignored")])
            try publisher.send([bytes("jobs.42"), bytes("payload")])
            received = try receive(subscriber, within: .milliseconds(20))
        }
        #expect(received == [bytes("jobs.42"), bytes("payload")])
    }
}
