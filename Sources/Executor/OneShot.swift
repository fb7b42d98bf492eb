import BatonCore
import Synchronization

/// A value delivered once and awaited by any number of tasks; a waiting task that is cancelled gets nil.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [UInt64: CheckedContinuation<Value?, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    init() {}

    var value: Value? { state.withLock { $0.value } }

    /// Delivers `value` to current and future waiters; later calls are ignored.
    func fulfil(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value?, Never>] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    func wait() async -> Value? {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                let immediate = state.withLock { state -> Value?? in
                    if let value = state.value { return .some(value) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }
}

/// The first non-nil answer among concurrent contenders; the others are cancelled and awaited.
func firstOf<T: Sendable>(_ contenders: (@Sendable () async -> T?)...) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        for contender in contenders {
            group.addTask { await contender() }
        }
        var winner: T?
        while let next = await group.next() {
            if let next {
                winner = next
                break
            }
        }
        group.cancelAll()
        return winner
    }
}

/// Sleeps for `span`; nil if cancelled first (a contender for ``firstOf(_:)``).
func after<T: Sendable>(_ span: TimeSpan, _ value: T) async -> T? {
    do {
        try await Task.sleep(for: span.duration)
        return value
    } catch {
        return nil
    }
}
