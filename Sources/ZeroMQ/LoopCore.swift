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

    private let state = Mutex(State())
    private let wakeup: WakeupChannel
    private let continuation: AsyncStream<ZMQSocketLoop.Event>.Continuation
    let dropped = Atomic<Int>(0)

    init(continuation: AsyncStream<ZMQSocketLoop.Event>.Continuation) throws(ZMQError) {
        self.wakeup = try WakeupChannel()
        self.continuation = continuation
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
        continuation.finish()
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
        do {
            sockets = try setup(context)
        } catch {
            markStopped()
            started.resume(throwing: error)
            return
        }
        let poller = ZMQPoller()
        poller.add(fileDescriptor: wakeup.readFD, events: .readable)
        for socket in sockets {
            poller.add(socket, events: .readable)
        }
        started.resume(returning: sockets.map { try? $0.lastEndpoint })

        serve(sockets: sockets, poller: poller)

        for socket in sockets {
            try? socket.set(.linger, 0)
            socket.close()
        }
        markStopped()
    }

    /// Returns when asked to stop or when the sockets become unusable (e.g. `ETERM`).
    private func serve(sockets: [ZMQSocket], poller: ZMQPoller) {
        while true {
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
            for (index, socket) in sockets.enumerated() where ready[index + 1].contains(.readable) {
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
        continuation.yield(.sendFailed(socketIndex: message.socketIndex, frames: message.frames, error: error))
    }

    /// Returns `false` when receiving failed for a reason other than "nothing left";
    /// the loop cannot recover from those (in practice only `ETERM`), so it stops.
    private func receiveAvailable(from socket: ZMQSocket, index: Int) -> Bool {
        for _ in 0..<Self.receiveBatch {
            do {
                guard let frames = try socket.receive(dontWait: true) else { return true }
                continuation.yield(.received(socketIndex: index, frames: frames))
            } catch {
                return false
            }
        }
        return true
    }
}
