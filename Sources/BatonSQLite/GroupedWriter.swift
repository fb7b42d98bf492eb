import GRDB
import Synchronization

/// Group commit: writes that arrive while another is in flight are run together in the next transaction, each in
/// its own savepoint, so one failing (a 404, a conflict) rolls back only itself.
///
/// Why: the gateway's triggers each took the write lock and committed to the WAL on their own; at 16 concurrent
/// clients they queued on GRDB's single writer anyway. Grouped, sixteen triggers cost one lock and one commit.
/// Each caller still returns only after the transaction holding its write has committed.
final class GroupedWriter: Sendable {
    private struct Item: Sendable {
        /// Runs the write inside the group's transaction and returns how to deliver its result after the commit.
        let perform: @Sendable (Database) -> @Sendable () -> Void
        /// The group's transaction failed as a whole (e.g. the database is locked): nothing of this write persists.
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var queue: [Item] = []
        var draining = false
    }

    private let pool: DatabasePool
    private let state = Mutex(State())

    init(_ pool: DatabasePool) { self.pool = pool }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let item = Item(
                perform: { db in
                    var result: Result<T, any Error> = .failure(CancellationError())
                    do {
                        try db.inSavepoint {
                            do {
                                result = .success(try body(db))
                                return .commit
                            } catch {
                                result = .failure(error)
                                return .rollback
                            }
                        }
                    } catch {
                        result = .failure(error)
                    }
                    let outcome = result
                    return { continuation.resume(with: outcome) }
                },
                fail: { continuation.resume(throwing: $0) })
            let startDrain = state.withLock { state -> Bool in
                state.queue.append(item)
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if startDrain { scheduleGroup() }
        }
    }

    /// Runs one group on GRDB's writer queue, right where the write happens: no task hop between a commit and the
    /// next group. After each group it schedules the next one instead of looping, so other writes of this process
    /// (queued on the same writer) take their turn in between.
    private func scheduleGroup() {
        pool.asyncWriteWithoutTransaction { db in
            let items = self.state.withLock { state -> [Item] in
                let items = state.queue
                state.queue = []
                if items.isEmpty { state.draining = false }
                return items
            }
            guard !items.isEmpty else { return }
            var deliveries: [@Sendable () -> Void] = []
            do {
                try db.inTransaction(.immediate) {
                    deliveries = items.map { $0.perform(db) }
                    return .commit
                }
                for deliver in deliveries { deliver() }
            } catch {
                for item in items { item.fail(error) }
            }
            self.scheduleGroup()
        }
    }
}
