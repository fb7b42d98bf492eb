import BatonCore
import BatonStore
import Synchronization

/// Claims and completions waiting to be written. The writer takes everything queued at once, so whatever
/// arrives while a write is in flight goes out together in the next transaction: under load an executor
/// writes a few large transactions instead of one per offer and one per finished attempt.
final class WriteQueue: Sendable {
    struct Batch: Sendable {
        var completions: [Completion] = []
        var claims: [TicketID] = []
        var isEmpty: Bool { completions.isEmpty && claims.isEmpty }
    }

    private struct State {
        var items = Batch()
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func append(completions: [Completion] = [], claims: [TicketID] = []) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.items.completions += completions
            state.items.claims += claims
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Everything queued, waiting for at least one item; nil when the calling task is cancelled.
    func takeAll() async -> Batch? {
        while !Task.isCancelled {
            let batch = state.withLock { state -> Batch in
                defer { state.items = Batch() }
                return state.items
            }
            if !batch.isEmpty { return batch }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state -> Bool in
                        if !state.items.isEmpty || Task.isCancelled { return true }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume()
            }
        }
        return nil
    }
}
