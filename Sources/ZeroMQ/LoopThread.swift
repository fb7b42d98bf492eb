#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts a detached OS thread running `body`.
///
/// A real thread (not a Task) because the body blocks in `zmq_poll` for as long as the
/// loop lives, which would starve Swift's cooperative pool. Callers learn about the end
/// of the thread through their own signalling, so it is detached rather than joined.
func startDetachedThread(_ body: @escaping @Sendable () -> Void) throws(ZMQError) {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    #if canImport(Glibc)
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { argument in
        guard let argument else { return nil }
        Unmanaged<Box>.fromOpaque(argument).takeRetainedValue().body()
        return nil
    }, box)
    #else
    var thread: pthread_t?
    let result = pthread_create(&thread, nil, { argument in
        Unmanaged<Box>.fromOpaque(argument).takeRetainedValue().body()
        return nil
    }, box)
    #endif
    guard result == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        throw ZMQError(errno: result, operation: "pthread_create")
    }
    #if canImport(Glibc)
    pthread_detach(thread)
    #else
    if let thread { pthread_detach(thread) }
    #endif
}
