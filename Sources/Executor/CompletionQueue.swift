import BatonStore
import Synchronization

/// Completions waiting to be written. The writer takes everything queued at once, so attempts that end
/// while a write is in flight go out together in the next single store call.
final class CompletionQueue: Sendable {
    private struct State {
        var items: [Completion] = []
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func append(_ completions: [Completion]) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.items += completions
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Everything queued, waiting for at least one; nil when the calling task is cancelled.
    func takeAll() async -> [Completion]? {
        while !Task.isCancelled {
            let batch = state.withLock { state -> [Completion] in
                defer { state.items = [] }
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
