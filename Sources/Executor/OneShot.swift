import BatonCore

/// A value delivered once and awaited by any number of tasks; a waiting task that is cancelled gets nil.
struct OneShot<Value: Sendable>: Sendable {
    private let broadcast = Broadcast<Value>()

    init() {}

    var value: Value? { broadcast.values.first }

    /// Delivers `value` to current and future waiters; later calls are ignored (and return false).
    @discardableResult
    func fulfil(_ value: Value) -> Bool { broadcast.publish(value, onlyFirst: true) }

    func wait() async -> Value? { await broadcast.next(after: 0) }
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
