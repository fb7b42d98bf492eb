import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The libzmq context: I/O threads plus the registry of sockets created from it.
///
/// One context per process is normal. Every ``ZMQSocket`` retains its context, so the
/// context is only terminated (in `deinit`) after the last socket has been closed and
/// released; with sockets created at `LINGER` 0 that termination cannot block.
/// ``shutdown()`` is the non-blocking way to stop everything early from any thread.
public final class ZMQContext: @unchecked Sendable { // safe: libzmq documents contexts as thread-safe, and `handle` is immutable and freed only in deinit, when no other reference exists
    let handle: UnsafeMutableRawPointer

    /// Creates a context.
    ///
    /// - Parameter ioThreads: libzmq background I/O threads; one handles well over a
    ///   gigabyte per second, so more only helps very busy processes.
    public init(ioThreads: Int32 = 1) throws(ZMQError) {
        guard let handle = zmq_ctx_new() else {
            throw ZMQError.last("zmq_ctx_new")
        }
        // BLOCKY=0 gives every socket LINGER 0 by default, so termination never waits
        // on undeliverable messages even if a socket was created outside this wrapper.
        let configured = zmq_ctx_set(handle, ZMQ_BLOCKY, 0) == 0
            && zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) == 0
        if !configured {
            let error = ZMQError.last("zmq_ctx_set")
            zmq_ctx_term(handle)
            throw error
        }
        self.handle = handle
    }

    /// Makes every blocking or future operation on this context's sockets fail with
    /// ``ZMQError/Code/terminated`` and refuses new sockets.
    ///
    /// It does not wait, so it is safe from async code; the threads that own sockets
    /// react to `ETERM` by closing them (``ZMQSocketLoop`` does so automatically).
    /// Calling it more than once is harmless.
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }

    deinit {
        // All sockets are closed by now (each retains the context), so this returns promptly.
        while zmq_ctx_term(handle) == -1 && zmq_errno() == EINTR {}
    }
}
