import Synchronization

/// Wakes one waiting task: "the next due instant or something new, whichever comes first".
///
/// `ring()` from any task or thread makes the current (or next) `wait` return at once; rings while nobody waits are
/// remembered as one. One waiter at a time: the leader's pass loop, an executor's write loop. Together with
/// ``Broadcast`` (any number of waiters, every value kept) it is the whole set of wait primitives the roles use; the
/// dispatcher, the leadership view and the executor's write queue used to carry their own copies of this code.
public final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        /// Waits are numbered; a timeout or cancellation ends only its own wait (`released` ≥ its number), so a late
        /// timer can neither end the next wait nor count as a ring.
        var lastWait: UInt64 = 0
        var released: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }

    /// Returns on a ring (at once for one that came since the last wait returned), or when the calling task is
    /// cancelled.
    public func wait() async {
        guard let id = begin() else { return }
        await suspend(id)
    }

    /// Returns on a ring, after `timeout`, or when the calling task is cancelled.
    public func wait(timeout: Duration) async {
        guard let id = begin() else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.release(id)
            }
            await suspend(id)
            group.cancelAll()
        }
    }

    /// Consumes a remembered ring (nil: return at once), or numbers a new wait.
    private func begin() -> UInt64? {
        state.withLock { state in
            if state.rung {
                state.rung = false
                return nil
            }
            state.lastWait += 1
            return state.lastWait
        }
    }

    private func suspend(_ id: UInt64) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.rung || state.released >= id || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiter = (id, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            release(id)
        }
    }

    /// Ends wait `id` (its timeout passed, or its task was cancelled) if it is still waiting, and marks it ended if it
    /// has not suspended yet.
    private func release(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.released = max(state.released, id)
            guard let waiter = state.waiter, waiter.id == id else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }
}
