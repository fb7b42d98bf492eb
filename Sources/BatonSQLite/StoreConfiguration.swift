import BatonCore
import BatonStore

/// How a process opens the shared SQLite file (CONTRACT §3: `BATON_DB`, `BATON_SYNC`).
public struct StoreConfiguration: Sendable {
    public enum Sync: String, Sendable, CaseIterable {
        /// WAL + `synchronous=NORMAL`: a committed write survives a process crash.
        case normal
        /// WAL + `synchronous=FULL`: it also survives a power loss.
        case full
    }

    public var path: String
    public var sync: Sync
    /// How long a writer waits for the lock before the operation fails with `StoreError.unavailable`.
    public var busyTimeout: TimeSpan

    public init(path: String, sync: Sync = .normal, busyTimeout: TimeSpan = .seconds(5)) {
        self.path = path
        self.sync = sync
        self.busyTimeout = busyTimeout
    }
}
