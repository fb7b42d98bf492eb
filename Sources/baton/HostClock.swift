import BatonCore
import Foundation

/// This host's wall clock, as the roles read it before any correction.
///
/// A debug build (tests run those) honours `BATON_DEBUG_HOST_CLOCK_OFFSET` (`30s`, or `-30s` for a clock behind),
/// which shifts every wall-clock reading of the process, as a host whose clock is off would: the clock-skew
/// integration test starts schedulers with it. Release builds ignore it. Not libfaketime: preloaded into a Swift
/// process it also shifted the runtime's timed waits (a `Task.sleep` of 600 ms lasted 30 s with a clock 30 s behind),
/// which no real clock error does, since those waits run on the monotonic clock.
enum HostClock {
    static func make(environment: [String: String] = ProcessInfo.processInfo.environment) -> any WallClock {
        #if DEBUG
            if let text = environment["BATON_DEBUG_HOST_CLOCK_OFFSET"] {
                let behind = text.hasPrefix("-")
                if let span = try? TimeSpan(parsing: behind ? String(text.dropFirst()) : text) {
                    return ShiftedClock(offset: span, behind: behind)
                }
            }
        #endif
        return SystemWallClock()
    }

    private struct ShiftedClock: WallClock {
        let offset: TimeSpan
        let behind: Bool
        func now() -> Timestamp { behind ? SystemWallClock().now() - offset : SystemWallClock().now() + offset }
    }
}
