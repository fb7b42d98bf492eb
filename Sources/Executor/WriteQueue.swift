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

    private let items = Mutex(Batch())
    /// Rung on every append; a ring between the writer's take and its wait is remembered, so none is lost.
    private let appended = Doorbell()

    func append(completions: [Completion] = [], claims: [TicketID] = []) {
        items.withLock { items in
            items.completions += completions
            items.claims += claims
        }
        appended.ring()
    }

    /// Everything queued, waiting for at least one item; nil when the calling task is cancelled.
    func takeAll() async -> Batch? {
        while !Task.isCancelled {
            let batch = items.withLock { items -> Batch in
                defer { items = Batch() }
                return items
            }
            if !batch.isEmpty { return batch }
            await appended.wait()
        }
        return nil
    }
}
