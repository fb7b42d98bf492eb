import Synchronization

/// Values published in order, awaited by any number of tasks: a waiter asks for "the next value after the first
/// `seen`", so it never misses one published before it started waiting, and a cancelled waiter gets nil.
///
/// The one multi-waiter primitive of the executor: a ticket's ``OneShot``-style exit (at most one value) and its stop
/// reasons (a polite cancel, possibly followed by a fence that must kill at once) are both this. They used to be two
/// copies of the same mutex-plus-continuations code.
public final class Broadcast<Value: Sendable>: Sendable {
    private struct Waiter {
        var seen: Int
        var continuation: CheckedContinuation<Value?, Never>
    }

    private struct State {
        var values: [Value] = []
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Every value published so far, oldest first.
    public var values: [Value] { state.withLock { $0.values } }

    /// Publishes `value` to current and future waiters. With `onlyFirst`, does nothing (and returns false) once a
    /// value has been published: a one-shot.
    @discardableResult
    public func publish(_ value: Value, onlyFirst: Bool = false) -> Bool {
        let ready = state.withLock { state -> [CheckedContinuation<Value?, Never>]? in
            if onlyFirst && !state.values.isEmpty { return nil }
            state.values.append(value)
            let count = state.values.count
            let due = state.waiters.filter { $0.value.seen < count }
            for key in due.keys { state.waiters[key] = nil }
            return due.values.map(\.continuation)
        }
        guard let ready else { return false }
        for continuation in ready { continuation.resume(returning: value) }
        return true
    }

    /// The first value after the first `seen` ones; nil if the calling task is cancelled first.
    public func next(after seen: Int) async -> Value? {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                let immediate = state.withLock { state -> Value?? in
                    if state.values.count > seen { return .some(state.values[seen]) }
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
