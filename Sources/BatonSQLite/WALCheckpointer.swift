import Foundation
import GRDBSQLite
import Synchronization

/// Copies the WAL back into the database file on a background thread, so that commits never do.
///
/// Why: with SQLite's default, the commit that takes the WAL past 1,000 pages runs the checkpoint itself, two
/// fsyncs included, while its caller waits. In a profile of the gateway's triggers one group commit in ten took
/// 2–23 ms instead of 0.6 ms for that reason, and executors spent 5% of their time in `fdatasync` inside claim and
/// completion batches. Every process runs one of these (PASSIVE: it never blocks writers or readers).
///
/// Commits checkpoint themselves only past ``backstopFrames`` (10,000 pages). Below that, each connection's WAL hook
/// (``install(on:)``, which replaces SQLite's auto-checkpoint) wakes this thread as soon as the WAL passes
/// ``requestFrames`` rather than letting it wait out its interval. The WAL only starts over when a write begins with
/// every frame copied back, so sustained writes with no pause (history retention's 2,002 back-to-back transactions in
/// `baton bench purge`) grew it to the backstop about every 65 commits, and that commit then spent 300–390 ms
/// checkpointing while its statements took 2 ms: the whole tail of the write-lock hold. Background writers therefore
/// wait for ``waitUntilCopied(timeout:)`` before writing (see `SQLiteRetentionStore`).
///
/// The connection is a raw SQLite handle owned by the thread: it never leaves it.
final class WALCheckpointer: Sendable {
    /// WAL size (pages) at which a commit wakes the thread instead of waiting out the interval: SQLite's own default.
    static let requestFrames: Int32 = 1_000
    /// WAL size at which a commit checkpoints itself after all, so the WAL stays bounded (40 MB at 4 KiB pages)
    /// whatever the thread manages.
    static let backstopFrames: Int32 = 10_000
    /// Least time between two checkpoints (seconds): a commit's request waits at most this long.
    static let minimumSpacing: TimeInterval = 0.01

    /// Shared with the thread and with every connection's WAL hook.
    final class Control: Sendable {
        let stopped = Mutex(false)
        /// A commit found the WAL past ``requestFrames``: checkpoint now rather than at the next interval.
        let requested = Mutex(false)
        /// Tests hold checkpoints to observe what commits do on their own.
        let held = Mutex(false)
        /// After the last checkpoint: whether it copied every frame the WAL held (nothing left for a commit to do).
        let copied = Mutex(true)
        let wakeup = NSCondition()

        func request() {
            guard !requested.withLock({ $0 }) else { return }  // one signal per wait: commits past the mark are many
            wakeup.lock()
            requested.withLock { $0 = true }
            wakeup.signal()
            wakeup.unlock()
        }
    }

    let control = Control()

    let path: String
    let synchronous: String
    let interval: TimeInterval

    /// The thread starts with ``start()``, once the database is open in WAL mode: a connection opened before that
    /// sees a file in rollback mode, and its checkpoints do nothing.
    init(path: String, synchronous: String, interval: TimeInterval = 0.2) {
        self.path = path
        self.synchronous = synchronous
        self.interval = interval
    }

    func start() {
        let (control, path, synchronous, interval) = (self.control, self.path, self.synchronous, self.interval)
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
                if !control.stopped.withLock({ $0 }) && !control.requested.withLock({ $0 }) {
                    _ = control.wakeup.wait(until: Date(timeIntervalSinceNow: interval))
                }
                control.requested.withLock { $0 = false }
                control.wakeup.unlock()
                if control.stopped.withLock({ $0 }) { return }
                if control.held.withLock({ $0 }) { continue }
                var frames: Int32 = 0
                var copied: Int32 = 0
                // BUSY (another process is checkpointing) or any error: try again next time.
                let status = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied)
                control.copied.withLock { $0 = status == SQLITE_OK && copied >= frames }
                // Under sustained writes commits ask again at once; each checkpoint ends in an fsync, so space them.
                Thread.sleep(forTimeInterval: WALCheckpointer.minimumSpacing)  // spacing between fsyncs, on its own thread
            }
        }
        thread.name = "baton-wal-checkpoint"
        thread.start()
    }

    /// Replaces `connection`'s auto-checkpoint with a hook that wakes this thread (see the type's comment).
    ///
    /// The hook's context is `control`, retained for the life of the process rather than of this checkpointer: a
    /// connection can outlive the database object that opened it while a write finishes, and the hook must never see
    /// a freed object. It is one small object per opened database.
    func install(on connection: OpaquePointer?) {
        let context = Unmanaged.passRetained(control).toOpaque()
        sqlite3_wal_hook(connection, WALCheckpointer.hook, context)
    }

    /// Runs after every commit in WAL mode with the WAL's size in pages (SQLite's `sqlite3_wal_hook`).
    private static let hook: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = {
        context, connection, _, frames in
        if frames >= WALCheckpointer.backstopFrames {
            _ = sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        } else if frames >= WALCheckpointer.requestFrames, let context {
            Unmanaged<Control>.fromOpaque(context).takeUnretainedValue().request()
        }
        return SQLITE_OK
    }

    /// Asks for a checkpoint and waits (polling, bounded by `timeout`) until one has copied the whole WAL back, so the
    /// caller's next write starts the WAL over instead of growing it. False when it did not happen in time.
    func waitUntilCopied(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        control.copied.withLock { $0 = false }
        control.request()
        while !control.copied.withLock({ $0 }) {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(2))  // pacing a background writer: a checkpoint takes ms
            control.request()
        }
        return true
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
