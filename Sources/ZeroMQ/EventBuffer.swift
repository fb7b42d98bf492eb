import Synchronization

/// The bounded queue between a ``ZMQSocketLoop``'s thread and the task that consumes its events.
///
/// Why bounded, and why it pushes back instead of dropping: an unbounded buffer here (it was an `AsyncStream`)
/// took every message out of libzmq as fast as the thread could read, so a peer that flooded the socket grew this
/// process's memory without limit and libzmq's receive high-water mark never applied. When the buffer is full the
/// thread stops reading the sockets until the consumer has taken half of it; messages then wait inside libzmq,
/// which bounds each peer's inbound pipe (`ZMQ_RCVHWM`) and, beyond it, stops reading that peer's TCP connection.
/// A ROUTER fair-queues between peer pipes, so one flooding peer cannot starve the others. Nothing is dropped here.
final class EventBuffer: Sendable {
    private struct State {
        /// Taken from `head`; slots before it are nil. Compacted when the dead prefix dominates.
        var items: [ZMQSocketLoop.Event?] = []
        var head = 0
        var waiter: CheckedContinuation<ZMQSocketLoop.Event?, Never>?
        var finished = false
        /// Set by the loop thread when it found the buffer full and stopped reading.
        var readingPaused = false

        var count: Int { items.count - head }

        mutating func takeFirst() -> ZMQSocketLoop.Event? {
            guard head < items.count else { return nil }
            let event = items[head]
            items[head] = nil
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 && head * 2 >= items.count {
                items.removeFirst(head)
                head = 0
            }
            return event
        }
    }

    let capacity: Int
    private let state = Mutex(State())
    private let resumeReading: @Sendable () -> Void

    /// - Parameter resumeReading: called (from the consumer) when a paused loop may read again.
    init(capacity: Int, resumeReading: @escaping @Sendable () -> Void) {
        self.capacity = max(1, capacity)
        self.resumeReading = resumeReading
    }

    // MARK: Loop thread

    /// Whether one more received message fits. When it does not, the loop must stop reading: this marks it
    /// paused, and the consumer calls `resumeReading` once it has made room.
    func roomForReceived() -> Bool {
        state.withLock { state in
            if state.count < capacity { return true }
            state.readingPaused = true
            return false
        }
    }

    /// Hands `event` to a waiting consumer or queues it. `force` queues beyond the capacity: for send failures,
    /// which the process's own sends bound, and which it needs to reschedule work.
    @discardableResult
    func append(_ event: ZMQSocketLoop.Event, force: Bool = false) -> Bool {
        let waiter = state.withLock { state -> CheckedContinuation<ZMQSocketLoop.Event?, Never>?? in
            guard !state.finished else { return .some(nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return .some(waiter)
            }
            guard force || state.count < capacity else { return nil }
            state.items.append(event)
            return .some(nil)
        }
        guard let waiter else { return false }
        waiter?.resume(returning: event)
        return true
    }

    /// No more events: a waiting consumer gets nil, later ones get what is left and then nil.
    func finish() {
        let waiter = state.withLock { state in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    // MARK: Consumer

    var count: Int { state.withLock { $0.count } }

    func next() async -> ZMQSocketLoop.Event? {
        if let event = takeReady() { return event }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<ZMQSocketLoop.Event?, Never>) in
                let immediate = state.withLock { state -> ZMQSocketLoop.Event?? in
                    if state.count > 0 || state.finished || Task.isCancelled { return .some(nil) }
                    state.waiter = waiter
                    return nil
                }
                if immediate != nil {
                    // Something arrived (or the stream ended) between the fast path and here: take it now.
                    waiter.resume(returning: Task.isCancelled ? nil : takeReady())
                }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    private func takeReady() -> ZMQSocketLoop.Event? {
        let (event, wake) = state.withLock { state -> (ZMQSocketLoop.Event?, Bool) in
            let event = state.takeFirst()
            // Resume at half full, not at the first free slot, so a saturated loop wakes once per half buffer.
            guard state.readingPaused, state.count <= capacity / 2 else { return (event, false) }
            state.readingPaused = false
            return (event, true)
        }
        if wake { resumeReading() }
        return event
    }
}

extension ZMQSocketLoop {
    /// The events of one loop, in the order its thread saw them (see ``ZMQSocketLoop/events``).
    public struct Events: AsyncSequence, Sendable {
        public typealias Element = ZMQSocketLoop.Event
        let buffer: EventBuffer

        public struct AsyncIterator: AsyncIteratorProtocol, Sendable {
            let buffer: EventBuffer

            /// The next event; nil once the loop has stopped and everything was taken, or when the task is cancelled.
            public mutating func next() async -> ZMQSocketLoop.Event? {
                await buffer.next()
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
    }
}
