import Synchronization
import Testing
import ZeroMQ

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Transports the tests run over; inproc skips TCP entirely, tcp uses an ephemeral port.
enum Transport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case tcp
    case inproc

    var testDescription: String { rawValue }
}

private let inprocCounter = Atomic<Int>(0)

/// Binds `socket` to a fresh endpoint and returns the concrete address peers connect to.
func bindFresh(_ socket: ZMQSocket, _ transport: Transport) throws -> String {
    switch transport {
    case .tcp:
        try socket.bind("tcp://127.0.0.1:*")
        let endpoint = try #require(try socket.lastEndpoint)
        #expect(!endpoint.hasSuffix(":*"))
        return endpoint
    case .inproc:
        let endpoint = "inproc://test-\(inprocCounter.add(1, ordering: .relaxed).newValue)"
        try socket.bind(endpoint)
        return endpoint
    }
}

/// Waits for one message, giving up after `timeout` instead of hanging the test run.
func receive(_ socket: ZMQSocket, within timeout: Duration = .seconds(5)) throws -> [[UInt8]]? {
    let poller = ZMQPoller()
    poller.add(socket)
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        if let message = try socket.receive(dontWait: true) {
            return message
        }
        let remaining = clock.now.duration(to: deadline)
        if remaining <= .zero {
            return nil
        }
        _ = try poller.poll(timeout: remaining)
    }
}

/// Every message that arrives within `window`; used only to confirm that something
/// (e.g. an oversized frame) does not show up.
func drain(_ socket: ZMQSocket, for window: Duration) throws -> [[[UInt8]]] {
    var messages: [[[UInt8]]] = []
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: window)
    while clock.now < deadline {
        if let message = try receive(socket, within: clock.now.duration(to: deadline)) {
            messages.append(message)
        }
    }
    return messages
}

/// Next event, or `nil` once the stream has finished. Tests carry a time limit, so a
/// missing event fails the test instead of hanging it.
func nextEvent(_ iterator: inout ZMQSocketLoop.Events.AsyncIterator) async -> ZMQSocketLoop.Event? {
    await iterator.next()
}
