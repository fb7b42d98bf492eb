import CZeroMQ

/// One libzmq socket.
///
/// libzmq sockets are not thread-safe, so this type is deliberately not `Sendable`:
/// create, use and close it on one thread (``ZMQSocketLoop`` gives async code a way to
/// do that). The socket is created with `LINGER` 0 so that closing it, and terminating
/// its context, never waits for peers that may never come back.
public final class ZMQSocket {
    /// The pattern this socket was created with.
    public let type: ZMQSocketType
    /// Retained so the context outlives the socket; see ``ZMQContext``.
    let context: ZMQContext
    /// `nil` once closed; every operation checks it so use-after-close is an error, not a crash.
    private(set) var handle: UnsafeMutableRawPointer?
    /// Reused receive buffer; libzmq requires `zmq_msg_t` to be pointer-aligned, which
    /// heap allocation of the imported type guarantees.
    private let message: UnsafeMutablePointer<zmq_msg_t>

    /// Creates a socket of `type` in `context`.
    ///
    /// - Parameter linger: milliseconds that `close` may keep undelivered messages;
    ///   0 (the default) keeps shutdown prompt, which Baton prefers over best-effort delivery.
    public init(context: ZMQContext, type: ZMQSocketType, linger: Int32 = 0) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw ZMQError.last("zmq_socket")
        }
        self.type = type
        self.context = context
        self.handle = handle
        self.message = .allocate(capacity: 1)
        do {
            try set(.linger, linger)
        } catch {
            close()
            throw error
        }
    }

    deinit {
        close()
        message.deallocate()
    }

    /// Whether ``close()`` has run; operations on a closed socket throw ``ZMQError/Code/notSocket``.
    public var isClosed: Bool { handle == nil }

    /// Releases the socket. Idempotent, and also run by `deinit`.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        zmq_close(handle)
    }

    func requireHandle(_ operation: String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle else {
            throw ZMQError(.notSocket, operation: operation)
        }
        return handle
    }

    /// Listens on `endpoint` (e.g. `tcp://127.0.0.1:*` for an ephemeral port; read it back
    /// from ``lastEndpoint``).
    public func bind(_ endpoint: String) throws(ZMQError) {
        let handle = try requireHandle("zmq_bind")
        try zmqCall("zmq_bind(\(endpoint))") { zmq_bind(handle, endpoint) }
    }

    /// Starts connecting to `endpoint`. It returns before the connection exists; libzmq
    /// keeps reconnecting in the background, so a peer may start later.
    public func connect(_ endpoint: String) throws(ZMQError) {
        let handle = try requireHandle("zmq_connect")
        try zmqCall("zmq_connect(\(endpoint))") { zmq_connect(handle, endpoint) }
    }

    /// Stops listening on an endpoint given to ``bind(_:)`` (use the resolved
    /// ``lastEndpoint`` when a wildcard port was bound).
    public func unbind(_ endpoint: String) throws(ZMQError) {
        let handle = try requireHandle("zmq_unbind")
        try zmqCall("zmq_unbind(\(endpoint))") { zmq_unbind(handle, endpoint) }
    }

    /// Drops a connection made with ``connect(_:)`` and stops reconnecting to it.
    public func disconnect(_ endpoint: String) throws(ZMQError) {
        let handle = try requireHandle("zmq_disconnect")
        try zmqCall("zmq_disconnect(\(endpoint))") { zmq_disconnect(handle, endpoint) }
    }

    /// The endpoint most recently bound or connected, with wildcards resolved — the way
    /// to learn which port `tcp://127.0.0.1:*` picked. `nil` if nothing was bound yet.
    public var lastEndpoint: String? {
        get throws(ZMQError) {
            let handle = try requireHandle("zmq_getsockopt(ZMQ_LAST_ENDPOINT)")
            var buffer = [UInt8](repeating: 0, count: 1024)
            var length = buffer.count
            try zmqCall("zmq_getsockopt(ZMQ_LAST_ENDPOINT)") {
                zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &length)
            }
            let text = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
            return text.isEmpty ? nil : text
        }
    }

    /// Sends one multipart message atomically: peers receive all frames or none.
    ///
    /// - Parameters:
    ///   - frames: at least one frame; empty frames are allowed (ROUTER/DEALER delimiters).
    ///   - dontWait: fail fast instead of blocking when the high-water mark is reached.
    /// - Returns: `false` when `dontWait` is set and the message could not be queued
    ///   (`EAGAIN`), or `SNDTIMEO` expired; the message was not sent. `true` otherwise.
    /// - Throws: ``ZMQError``, e.g. ``ZMQError/Code/hostUnreachable`` from a ROUTER with
    ///   `routerMandatory` whose first frame names no connected peer.
    @discardableResult
    public func send(_ frames: [[UInt8]], dontWait: Bool = false) throws(ZMQError) -> Bool {
        let handle = try requireHandle("zmq_send")
        guard !frames.isEmpty else {
            throw ZMQError(.invalidArgument, operation: "zmq_send(no frames)")
        }
        let baseFlags = dontWait ? ZMQ_DONTWAIT : 0
        for (index, frame) in frames.enumerated() {
            let flags = index == frames.count - 1 ? baseFlags : baseFlags | ZMQ_SNDMORE
            do {
                try zmqCall("zmq_send") { Self.sendFrame(frame, handle: handle, flags: flags) }
            } catch let error where error.code == .wouldBlock && index == 0 {
                // libzmq accepts a multipart message atomically, so only the first frame can
                // hit the high-water mark; nothing has been queued yet.
                return false
            }
        }
        return true
    }

    private static func sendFrame(_ frame: [UInt8], handle: UnsafeMutableRawPointer, flags: Int32) -> Int32 {
        frame.withUnsafeBytes { bytes in
            // zmq_send memcpy()s from the pointer even for length 0, so never pass NULL.
            var empty: UInt8 = 0
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                return zmq_send(handle, &empty, 0, flags)
            }
            return zmq_send(handle, base, bytes.count, flags)
        }
    }

    /// Receives one complete multipart message.
    ///
    /// - Parameter dontWait: return `nil` instead of blocking when nothing is queued.
    /// - Returns: the frames, or `nil` when no message is available (`dontWait`, or
    ///   `RCVTIMEO` expired).
    public func receive(dontWait: Bool = false) throws(ZMQError) -> [[UInt8]]? {
        let handle = try requireHandle("zmq_msg_recv")
        var frames: [[UInt8]] = []
        while true {
            // Later frames of a message are already queued (delivery is atomic), so only
            // the first frame honours `dontWait`.
            let flags = frames.isEmpty && dontWait ? ZMQ_DONTWAIT : 0
            let frame: [UInt8]
            let more: Bool
            do {
                (frame, more) = try receiveFrame(handle: handle, flags: flags)
            } catch let error where error.code == .wouldBlock && frames.isEmpty {
                return nil
            }
            frames.append(frame)
            if !more {
                return frames
            }
        }
    }

    private func receiveFrame(handle: UnsafeMutableRawPointer, flags: Int32) throws(ZMQError) -> ([UInt8], Bool) {
        zmq_msg_init(message)
        defer { zmq_msg_close(message) }
        let size = try zmqCall("zmq_msg_recv") { zmq_msg_recv(message, handle, flags) }
        let bytes = UnsafeRawBufferPointer(start: zmq_msg_data(message), count: Int(size))
        return (Array(bytes), zmq_msg_more(message) != 0)
    }
}

/// Sockets must stay on the thread that uses them; see ``ZMQSocketLoop``.
@available(*, unavailable)
extension ZMQSocket: Sendable {}
