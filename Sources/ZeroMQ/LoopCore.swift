import Synchronization

/// The state ``ZMQSocketLoop`` shares with its thread.
///
/// It is a separate object so that the thread does not retain the public loop: dropping
/// the last reference to the loop runs its `deinit`, which asks this core to stop.
final class LoopCore: Sendable {
    struct Outbound: Sendable {
        var socketIndex: Int
        var frames: [[UInt8]]
    }

    private enum Phase {
        case running
        case stopping
        case stopped
    }

    private struct State {
        var phase = Phase.running
        var outbound: [Outbound] = []
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Upper bound on messages taken from one socket per wake-up, so a flooded socket
    /// cannot delay outbound sends or the other sockets.
    private static let receiveBatch = 256

    /// The one ZAP handler endpoint libzmq consults in a context (RFC 27).
    static let zapEndpoint = "inproc://zeromq.zap.01"

    private let state = Mutex(State())
    private let wakeup: WakeupChannel
    let events: EventBuffer
    let allowList: CurveAllowList?
    let dropped = Atomic<Int>(0)
    let handshakesRefused = Atomic<Int>(0)

    init(inboundCapacity: Int, allowList: CurveAllowList?) throws(ZMQError) {
        let wakeup = try WakeupChannel()
        self.wakeup = wakeup
        self.events = EventBuffer(capacity: inboundCapacity) { wakeup.signal() }
        self.allowList = allowList
    }

    // MARK: Any thread

    func enqueue(_ message: Outbound) -> Bool {
        let (accepted, mustWake) = state.withLock { state -> (Bool, Bool) in
            guard state.phase == .running else { return (false, false) }
            state.outbound.append(message)
            // Only the first message after a drain needs a wake-up: the loop takes the
            // whole queue after draining the descriptor, so later ones ride along.
            return (true, state.outbound.count == 1)
        }
        if mustWake {
            wakeup.signal()
        }
        return accepted
    }

    func requestStop() {
        let mustWake = state.withLock { state -> Bool in
            guard state.phase == .running else { return false }
            state.phase = .stopping
            return true
        }
        if mustWake {
            wakeup.signal()
        }
    }

    func stop() async {
        await withCheckedContinuation { (stopped: CheckedContinuation<Void, Never>) in
            let alreadyStopped = state.withLock { state -> Bool in
                if state.phase == .stopped { return true }
                state.phase = .stopping
                state.stopWaiters.append(stopped)
                return false
            }
            if alreadyStopped {
                stopped.resume()
            } else {
                wakeup.signal()
            }
        }
    }

    /// Final transition: the stream finishes before any `stop()` caller resumes, so
    /// awaiting `shutdown()` guarantees a finished stream.
    func markStopped() {
        let (waiters, leftovers) = state.withLock { state in
            state.phase = .stopped
            defer {
                state.stopWaiters = []
                state.outbound = []
            }
            return (state.stopWaiters, state.outbound.count)
        }
        dropped.add(leftovers, ordering: .relaxed)
        events.finish()
        for waiter in waiters {
            waiter.resume()
        }
    }

    // MARK: Loop thread only

    func run(
        context: ZMQContext,
        setup: @Sendable (ZMQContext) throws -> [ZMQSocket],
        started: CheckedContinuation<[String?], any Error>
    ) {
        let sockets: [ZMQSocket]
        var authenticator: ZMQSocket?
        do {
            // Bound before `setup` binds the server socket, so no handshake can find the context without a handler:
            // libzmq without ZAP_ENFORCE_DOMAIN (a draft option Debian's build lacks) would then accept any client.
            if allowList != nil {
                let zap = try ZMQSocket(context: context, type: .rep)
                authenticator = zap
                try zap.bind(Self.zapEndpoint)
            }
            sockets = try setup(context)
        } catch {
            authenticator?.close()
            markStopped()
            started.resume(throwing: error)
            return
        }
        let poller = ZMQPoller()
        poller.add(fileDescriptor: wakeup.readFD, events: .readable)
        if let authenticator {
            poller.add(authenticator, events: .readable)
        }
        let firstSocket = poller.count
        for socket in sockets {
            poller.add(socket, events: .readable)
        }
        started.resume(returning: sockets.map { try? $0.lastEndpoint })

        serve(sockets: sockets, authenticator: authenticator, firstSocket: firstSocket, poller: poller)

        for socket in sockets + (authenticator.map { [$0] } ?? []) {
            try? socket.set(.linger, 0)
            socket.close()
        }
        markStopped()
    }

    /// Returns when asked to stop or when the sockets become unusable (e.g. `ETERM`).
    private func serve(sockets: [ZMQSocket], authenticator: ZMQSocket?, firstSocket: Int, poller: ZMQPoller) {
        while true {
            // A full event buffer stops reading (see `EventBuffer`); the consumer's wake-up restarts it.
            let reading = events.roomForReceived()
            for index in sockets.indices {
                poller.setEvents(reading ? .readable : [], at: firstSocket + index)
            }
            guard let ready = try? poller.poll(timeout: nil) else { return }
            if ready[0].contains(.readable) {
                wakeup.drain()
            }
            // Taken after draining the descriptor: a message queued after this point
            // finds the queue empty and signals again, so no wake-up is lost.
            let batch = state.withLock { state -> [Outbound]? in
                guard state.phase == .running else { return nil }
                var taken: [Outbound] = []
                swap(&taken, &state.outbound)
                return taken
            }
            guard let batch else { return }
            for message in batch where !deliver(message, sockets: sockets) {
                return
            }
            if let authenticator, let allowList, ready[1].contains(.readable) {
                guard authenticate(on: authenticator, allowList) else { return }
            }
            for (index, socket) in sockets.enumerated() where ready[firstSocket + index].contains(.readable) {
                guard receiveAvailable(from: socket, index: index) else { return }
            }
        }
    }

    /// Returns `false` only when the context is terminating; refusals are reported.
    private func deliver(_ message: Outbound, sockets: [ZMQSocket]) -> Bool {
        guard sockets.indices.contains(message.socketIndex) else {
            report(message, ZMQError(.invalidArgument, operation: "send(on: \(message.socketIndex)): no such socket"))
            return true
        }
        do {
            if try !sockets[message.socketIndex].send(message.frames, dontWait: true) {
                report(message, ZMQError(.wouldBlock, operation: "zmq_send"))
            }
            return true
        } catch {
            if error.code == .terminated { return false }
            report(message, error)
            return true
        }
    }

    private func report(_ message: Outbound, _ error: ZMQError) {
        dropped.add(1, ordering: .relaxed)
        events.append(.sendFailed(socketIndex: message.socketIndex, frames: message.frames, error: error), force: true)
    }

    /// Returns `false` when receiving failed for a reason other than "nothing left";
    /// the loop cannot recover from those (in practice only `ETERM`), so it stops.
    private func receiveAvailable(from socket: ZMQSocket, index: Int) -> Bool {
        for _ in 0..<Self.receiveBatch {
            // Checked before receiving, so a message taken out of libzmq always has a place.
            guard events.roomForReceived() else { return true }
            do {
                guard let frames = try socket.receive(dontWait: true) else { return true }
                events.append(.received(socketIndex: index, frames: frames), force: true)
            } catch {
                return false
            }
        }
        return true
    }

    /// Answers every queued ZAP request. A refusal is counted always and reported as an event only when the
    /// buffer has room: a stranger retrying its handshake must not be able to fill the buffer.
    private func authenticate(on socket: ZMQSocket, _ allowList: CurveAllowList) -> Bool {
        for _ in 0..<Self.receiveBatch {
            let request: [[UInt8]]
            do {
                guard let frames = try socket.receive(dontWait: true) else { return true }
                request = frames
            } catch {
                return false
            }
            let decision = allowList.answer(request)
            do {
                // REP alternates receive and send, so the reply goes out before the next request is read.
                try socket.send(decision.reply)
            } catch {
                return error.code != .terminated
            }
            if !decision.accepted {
                handshakesRefused.add(1, ordering: .relaxed)
                events.append(.handshakeRefused(address: decision.address, clientKey: decision.clientKey))
            }
        }
        return true
    }
}
