import Synchronization

/// Tells one running action to stop, possibly more than once: a polite cancel may be followed by
/// a fence that must kill at once. Runners wait for "the next reason after the ones I have seen".
public final class StopSignal: Sendable {
    private struct Waiter {
        var seen: Int
        var continuation: CheckedContinuation<StopReason?, Never>
    }

    private struct State {
        var reasons: [StopReason] = []
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Every reason sent so far, oldest first.
    public var reasons: [StopReason] { state.withLock { $0.reasons } }

    public func send(_ reason: StopReason) {
        let ready = state.withLock { state -> [CheckedContinuation<StopReason?, Never>] in
            state.reasons.append(reason)
            let count = state.reasons.count
            let due = state.waiters.filter { $0.value.seen < count }
            for key in due.keys { state.waiters[key] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume(returning: reason) }
    }

    /// The first reason after the first `seen` ones; nil if the calling task is cancelled first.
    public func next(after seen: Int) async -> StopReason? {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<StopReason?, Never>) in
                let immediate = state.withLock { state -> StopReason?? in
                    if state.reasons.count > seen { return .some(state.reasons[seen]) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = Waiter(seen: seen, continuation: continuation)
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume(returning: nil)
        }
    }
}
