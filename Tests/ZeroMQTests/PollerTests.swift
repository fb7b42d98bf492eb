import Testing
import ZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite(.timeLimit(.minutes(1)))
struct PollerTests {
    @Test(arguments: [Duration.milliseconds(0), .milliseconds(50), .milliseconds(150)])
    func pollTimesOutWithNothingReady(timeout: Duration) throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .pull)
        _ = try bindFresh(socket, .tcp)
        let poller = ZMQPoller()
        poller.add(socket)

        let clock = ContinuousClock()
        let start = clock.now
        let ready = try poller.poll(timeout: timeout)
        let elapsed = start.duration(to: clock.now)

        #expect(ready == [[]])
        #expect(elapsed >= timeout - .milliseconds(2))
        #expect(elapsed < timeout + .seconds(1))
    }

    @Test func pollReportsOnlyTheReadySocket() throws {
        let context = try ZMQContext()
        let quiet = try ZMQSocket(context: context, type: .pull)
        _ = try bindFresh(quiet, .inproc)
        let busy = try ZMQSocket(context: context, type: .pull)
        let sender = try ZMQSocket(context: context, type: .push)
        try sender.connect(try bindFresh(busy, .inproc))
        try sender.send([bytes("x")])

        let poller = ZMQPoller()
        #expect(poller.add(quiet) == 0)
        #expect(poller.add(busy) == 1)
        let ready = try poller.poll(timeout: .seconds(5))
        #expect(ready == [[], .readable])
    }

    @Test func pollWatchesRawFileDescriptors() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .pull)
        _ = try bindFresh(socket, .inproc)

        let poller = ZMQPoller()
        poller.add(socket)
        poller.add(fileDescriptor: fds[0])
        #expect(try poller.poll(timeout: .zero) == [[], []])

        var byte: UInt8 = 1
        #expect(write(fds[1], &byte, 1) == 1)
        #expect(try poller.poll(timeout: .seconds(5)) == [[], .readable])
    }

    @Test func connectedDealerIsWritable() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.connect(try bindFresh(router, .inproc))
        let poller = ZMQPoller()
        poller.add(dealer, events: [.readable, .writable])
        #expect(try poller.poll(timeout: .seconds(5)) == [.writable])
    }

    @Test func pollingAClosedSocketThrowsNotSocket() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .pull)
        let poller = ZMQPoller()
        poller.add(socket)
        socket.close()
        let error = #expect(throws: ZMQError.self) { try poller.poll(timeout: .zero) }
        #expect(error?.code == .notSocket)
    }
}
