import Foundation
import Synchronization

/// The source of "now" for everything that reasons about wall-clock time.
///
/// Cron slots, leases and backoff are computed against an injected clock so the
/// same code is tested at any instant (DST nights included) without sleeping.
public protocol WallClock: Sendable {
    func now() -> Timestamp
}

/// The real clock: UTC from the operating system, truncated to milliseconds.
public struct SystemWallClock: WallClock {
    public init() {}

    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}

/// A clock that moves only when told to; for tests and simulations.
public final class ManualWallClock: WallClock {
    private let current: Mutex<Timestamp>

    public init(_ start: Timestamp) {
        current = Mutex(start)
    }

    public func now() -> Timestamp {
        current.withLock { $0 }
    }

    public func set(_ instant: Timestamp) {
        current.withLock { $0 = instant }
    }

    public func advance(by span: TimeSpan) {
        current.withLock { $0 = $0 + span }
    }
}
