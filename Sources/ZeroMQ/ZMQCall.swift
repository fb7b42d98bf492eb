import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a libzmq call that returns `-1` on failure.
///
/// The errno is read before anything else can overwrite it, `EINTR` is retried (a signal
/// delivered to the process must not surface as a spurious failure), and every other
/// failure becomes a ``ZMQError`` naming the operation.
@inline(__always)
@discardableResult
func zmqCall(
    _ operation: @autoclosure () -> String,
    _ body: () -> Int32
) throws(ZMQError) -> Int32 {
    while true {
        let result = body()
        if result != -1 {
            return result
        }
        let code = zmq_errno()
        if code == EINTR {
            continue
        }
        throw ZMQError(errno: code, operation: operation())
    }
}
