import BatonCore
import BatonStore
import Synchronization

/// This process's current view of its leadership, shared by the elector (writer) and the
/// dispatcher and sweepers (readers). The fence is what every leader write carries; the
/// database re-checks it, so a stale view can delay work but never corrupt it.
final class Leadership: Sendable {
    private let fence = Mutex<LeaderFence?>(nil)
    private let tickLag = Mutex<Int?>(nil)
    /// Rung whenever leadership changes, so waiting loops react at once.
    let changed = Doorbell()

    var current: LeaderFence? { fence.withLock { $0 } }

    func set(_ new: LeaderFence?) {
        let differs = fence.withLock { current -> Bool in
            defer { current = new }
            return current != new
        }
        if differs { changed.ring() }
    }

    var lastTickLagMs: Int? {
        get { tickLag.withLock { $0 } }
        set { tickLag.withLock { $0 = newValue } }
    }
}
