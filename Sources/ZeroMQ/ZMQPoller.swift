import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Readiness conditions a poll waits for or reports.
public struct ZMQPollEvents: OptionSet, Sendable, Hashable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// A whole message can be received (socket) or `read` will not block (descriptor).
    public static let readable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// At least one message can be sent without blocking.
    public static let writable = ZMQPollEvents(rawValue: Int16(ZMQ_POLLOUT))
    /// Error condition on a raw descriptor (never reported for ZeroMQ sockets).
    public static let error = ZMQPollEvents(rawValue: Int16(ZMQ_POLLERR))
}

/// Waits on ZeroMQ sockets and plain file descriptors at once.
///
/// Watching a descriptor next to the sockets is what lets another thread interrupt a
/// blocking wait immediately (see ``ZMQSocketLoop``) rather than polling with short
/// timeouts. Like the sockets it holds, a poller belongs to one thread.
public final class ZMQPoller {
    private enum Target {
        case socket(ZMQSocket)
        case fileDescriptor(Int32)
    }

    private var targets: [(target: Target, events: ZMQPollEvents)] = []

    public init() {}

    /// Number of registered items; ``poll(timeout:)`` returns one result per item.
    public var count: Int { targets.count }

    /// Watches `socket` and returns its index in the poll results.
    @discardableResult
    public func add(_ socket: ZMQSocket, events: ZMQPollEvents = .readable) -> Int {
        targets.append((.socket(socket), events))
        return targets.count - 1
    }

    /// Watches a raw descriptor (pipe, eventfd, TCP socket) and returns its index.
    @discardableResult
    public func add(fileDescriptor: Int32, events: ZMQPollEvents = .readable) -> Int {
        targets.append((.fileDescriptor(fileDescriptor), events))
        return targets.count - 1
    }

    /// Changes what the item at `index` is watched for; empty stops watching it without renumbering the others.
    public func setEvents(_ events: ZMQPollEvents, at index: Int) {
        guard targets.indices.contains(index) else { return }
        targets[index].events = events
    }

    /// Blocks until an item is ready or `timeout` passes.
    ///
    /// - Parameter timeout: `nil` waits indefinitely; zero only checks. Rounded up to
    ///   whole milliseconds, the resolution of `zmq_poll`. Signals do not shorten or
    ///   restart the wait: it resumes with the remaining time.
    /// - Returns: the ready conditions for each item, indexed as registered; all empty
    ///   means the timeout expired.
    /// - Throws: ``ZMQError/Code/terminated`` after ``ZMQContext/shutdown()``, or
    ///   ``ZMQError/Code/notSocket`` if a registered socket was closed.
    public func poll(timeout: Duration?) throws(ZMQError) -> [ZMQPollEvents] {
        var items = [zmq_pollitem_t]()
        items.reserveCapacity(targets.count)
        for (target, events) in targets {
            switch target {
            case .socket(let socket):
                let handle = try socket.requireHandle("zmq_poll")
                items.append(zmq_pollitem_t(socket: handle, fd: 0, events: events.rawValue, revents: 0))
            case .fileDescriptor(let fd):
                items.append(zmq_pollitem_t(socket: nil, fd: fd, events: events.rawValue, revents: 0))
            }
        }
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now.advanced(by: $0) }
        while true {
            let milliseconds = deadline.map { Self.milliseconds(clock.now.duration(to: $0)) } ?? -1
            let count = Int32(items.count)
            let result = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, count, milliseconds) }
            if result >= 0 {
                return items.map { ZMQPollEvents(rawValue: $0.revents) }
            }
            let code = zmq_errno()
            if code != EINTR {
                throw ZMQError(errno: code, operation: "zmq_poll")
            }
        }
    }

    /// Rounds up so a 0.5 ms timeout still waits instead of degenerating into a busy check.
    static func milliseconds(_ duration: Duration) -> Int {
        guard duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000
        let fraction = (attoseconds + attosecondsPerMillisecond - 1) / attosecondsPerMillisecond
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow, scaled < Int64(Int.max) - fraction else { return Int.max }
        return Int(scaled + fraction)
    }
}

@available(*, unavailable)
extension ZMQPoller: Sendable {}
