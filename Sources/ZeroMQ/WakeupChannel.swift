import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A descriptor that another thread can make readable, so a loop blocked in `zmq_poll`
/// wakes the moment work is queued (an eventfd on Linux, a pipe elsewhere).
final class WakeupChannel: Sendable {
    /// Register this with the poller.
    let readFD: Int32
    private let writeFD: Int32

    init() throws(ZMQError) {
        var readFD: Int32 = -1
        var writeFD: Int32 = -1
        guard baton_wakeup_open(&readFD, &writeFD) == 0 else {
            throw ZMQError(errno: errno, operation: "eventfd")
        }
        self.readFD = readFD
        self.writeFD = writeFD
    }

    /// Safe from any thread; repeated signals before a drain coalesce into one wake-up.
    func signal() {
        baton_wakeup_signal(writeFD)
    }

    /// Called by the loop thread before it looks for work, so later signals wake it again.
    func drain() {
        baton_wakeup_drain(readFD)
    }

    deinit {
        baton_wakeup_close(readFD, writeFD)
    }
}
