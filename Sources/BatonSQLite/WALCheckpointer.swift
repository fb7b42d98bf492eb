import Foundation
import GRDBSQLite
import Synchronization

/// Copies the WAL back into the database file on a background thread, so that commits never do.
///
/// Why: with SQLite's default, the commit that takes the WAL past 1,000 pages runs the checkpoint itself, two
/// fsyncs included, while its caller waits. In a profile of the gateway's triggers one group commit in ten took
/// 2–23 ms instead of 0.6 ms for that reason, and executors spent 5% of their time in `fdatasync` inside claim and
/// completion batches. Every process runs one of these (PASSIVE: it never blocks writers or readers); commits only
/// checkpoint themselves past 10,000 pages, as a backstop.
///
/// The connection is a raw SQLite handle owned by the thread: it never leaves it.
final class WALCheckpointer: Sendable {
    /// Set once to stop the thread; guarded by `wakeup`'s lock for the wait.
    private final class Control: Sendable {
        let stopped = Mutex(false)
        let wakeup = NSCondition()
    }

    private let control = Control()

    init(path: String, synchronous: String, interval: TimeInterval = 0.2) {
        let control = self.control
        let thread = Thread {
            var handle: OpaquePointer?
            guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else {
                sqlite3_close(handle)
                return
            }
            defer { sqlite3_close(handle) }
            sqlite3_exec(handle, "PRAGMA synchronous = \(synchronous)", nil, nil, nil)
            while true {
                control.wakeup.lock()
                if !control.stopped.withLock({ $0 }) { _ = control.wakeup.wait(until: Date(timeIntervalSinceNow: interval)) }
                control.wakeup.unlock()
                if control.stopped.withLock({ $0 }) { return }
                var frames: Int32 = 0
                var copied: Int32 = 0
                // BUSY (another process is checkpointing) or any error: try again next time.
                _ = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied)
            }
        }
        thread.name = "baton-wal-checkpoint"
        thread.start()
    }

    /// Ends the thread within one interval; it closes its connection on the way out.
    func stop() {
        control.wakeup.lock()
        control.stopped.withLock { $0 = true }
        control.wakeup.signal()
        control.wakeup.unlock()
    }

    deinit { stop() }
}
