import Synchronization

/// Lets async code use ZeroMQ sockets without ever touching them off their thread.
///
/// Baton's rule is that non-Sendable C handles live on one dedicated thread. The loop
/// starts one OS thread, creates the sockets there through the caller's `setup` closure,
/// and then blocks in `zmq_poll` on those sockets plus a wake-up descriptor. Async code
/// hands outbound messages to ``send(_:on:)``, which queues them under a mutex and wakes
/// the thread at once (no polling interval, so dispatch latency is a few microseconds of
/// syscalls), and consumes inbound traffic from ``events``.
///
/// Sends are non-blocking on the loop thread: a message that libzmq refuses (`EAGAIN` at
/// the high-water mark, `EHOSTUNREACH` from a ROUTER with `routerMandatory`, …) is dropped,
/// counted in ``droppedSendCount`` and reported as ``Event/sendFailed(socketIndex:frames:error:)``,
/// so one dead worker cannot stall or crash the scheduler.
public final class ZMQSocketLoop: Sendable {
    /// Something that happened on the loop thread.
    public enum Event: Sendable, Equatable {
        /// A complete multipart message arrived on the socket at `socketIndex`
        /// (its position in the array returned by `setup`).
        case received(socketIndex: Int, frames: [[UInt8]])
        /// libzmq refused a message passed to ``ZMQSocketLoop/send(_:on:)``; it was dropped.
        /// The frames are returned so the caller can reschedule the work elsewhere.
        case sendFailed(socketIndex: Int, frames: [[UInt8]], error: ZMQError)
        /// The ZAP handler refused a CURVE handshake (unlisted key, another mechanism): nothing from that
        /// connection is delivered. Reported only when the buffer has room; ``handshakesRefused`` counts all.
        case handshakeRefused(address: String, clientKey: CurvePublicKey?)
    }

    /// Inbound messages, send failures and refused handshakes, in the order the loop saw them. The sequence
    /// ends when the loop stops (``shutdown()``, ``ZMQContext/shutdown()``, or an unrecoverable socket error),
    /// and for an iterating task that is cancelled. It holds at most `inboundCapacity` received messages: when
    /// it is full the thread stops reading, so messages wait inside libzmq, within its receive high-water mark
    /// (see `EventBuffer`). Iterate it from a single task.
    public let events: Events

    /// The resolved ``ZMQSocket/lastEndpoint`` of each socket right after `setup`, so a
    /// caller that bound `tcp://127.0.0.1:*` learns the port without touching the socket.
    public let endpoints: [String?]

    private let core: LoopCore

    /// Starts the loop thread and waits until `setup` has run on it.
    ///
    /// - Parameters:
    ///   - context: the context passed to `setup`; retained until the thread exits.
    ///   - inboundCapacity: received messages held for ``events`` before the thread stops reading.
    ///   - allowList: when set, the loop runs the context's ZAP handler and accepts only CURVE clients with a
    ///     listed key on sockets that ask for authentication (``ZMQSocket/useCurveServer(_:zapDomain:)``).
    ///     A context has one handler, so only one loop per context may pass an allow list.
    ///   - setup: runs on the loop thread and returns the sockets to serve, already bound
    ///     or connected and configured. Their indices identify them in ``send(_:on:)`` and
    ///     ``events``. Sockets must not escape the closure by any other route.
    /// - Throws: whatever `setup` throws (the thread then exits and created sockets are
    ///   released), or a ``ZMQError`` if the thread or wake-up descriptor cannot be created.
    public init(
        context: ZMQContext,
        inboundCapacity: Int = 4096,
        allowList: CurveAllowList? = nil,
        setup: @escaping @Sendable (ZMQContext) throws -> [ZMQSocket]
    ) async throws {
        let core = try LoopCore(inboundCapacity: inboundCapacity, allowList: allowList)
        let endpoints: [String?] = try await withCheckedThrowingContinuation { started in
            do {
                try startDetachedThread {
                    core.run(context: context, setup: setup, started: started)
                }
            } catch {
                core.markStopped()
                started.resume(throwing: error)
            }
        }
        self.events = Events(buffer: core.events)
        self.endpoints = endpoints
        self.core = core
    }

    deinit {
        // Without this a forgotten loop would keep its thread and sockets forever.
        core.requestStop()
    }

    /// Queues a multipart message for the socket at `socketIndex`; callable from any
    /// thread or task, and it never blocks on the network.
    ///
    /// - Returns: `false` if the loop has stopped and the message was discarded. `true`
    ///   means accepted for sending, not delivered: refusals show up in ``events``.
    @discardableResult
    public func send(_ frames: [[UInt8]], on socketIndex: Int) -> Bool {
        core.enqueue(LoopCore.Outbound(socketIndex: socketIndex, frames: frames))
    }

    /// Messages accepted by ``send(_:on:)`` that never reached libzmq: refused sends plus
    /// anything still queued when the loop stopped. A monotonic counter for metrics.
    public var droppedSendCount: Int {
        core.dropped.load(ordering: .relaxed)
    }

    /// CURVE handshakes the allow list refused. A monotonic counter for metrics.
    public var handshakesRefused: Int {
        core.handshakesRefused.load(ordering: .relaxed)
    }

    /// Received messages waiting in ``events``; at `inboundCapacity` the thread has stopped reading.
    public var bufferedEvents: Int {
        core.events.count
    }

    /// Stops the thread, closes the sockets with `LINGER` 0 (unsent messages are
    /// discarded), finishes ``events``, and returns once the thread is done with them.
    ///
    /// It suspends rather than blocks, so it is fine on the cooperative pool; the wait
    /// is bounded by one loop iteration. Safe to call repeatedly and concurrently.
    public func shutdown() async {
        await core.stop()
    }
}
