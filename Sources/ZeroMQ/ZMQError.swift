import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed libzmq call.
///
/// libzmq reports failures as `-1` plus a thread-local errno that the next call can
/// overwrite, so the code is captured immediately and carried as a value together with
/// the call that failed. Callers usually branch on ``code`` (or pattern-match with
/// `catch ZMQError.Code.hostUnreachable`) rather than on the message text.
public struct ZMQError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The raw errno value (system codes such as `EAGAIN`, or libzmq's own such as `ETERM`).
    public let errno: Int32
    /// `zmq_strerror(errno)`, captured so logs do not need libzmq to render it.
    public let message: String
    /// The libzmq function (and argument, when useful) that failed, for diagnostics.
    public let operation: String

    /// Builds an error for `errno` with libzmq's description of it.
    public init(errno: Int32, operation: String) {
        self.errno = errno
        self.message = String(cString: zmq_strerror(errno))
        self.operation = operation
    }

    init(_ code: Code, operation: String) {
        self.init(errno: code.rawValue, operation: operation)
    }

    /// Captures `zmq_errno()` right now; call it straight after the failing call.
    static func last(_ operation: String) -> ZMQError {
        ZMQError(errno: zmq_errno(), operation: operation)
    }

    /// The errno as a matchable code.
    public var code: Code { Code(rawValue: errno) }

    public var description: String { "\(operation) failed: \(message) (errno \(errno))" }
}

extension ZMQError {
    /// An errno value that callers branch on.
    ///
    /// The constants name the conditions Baton reacts to, so code reads as intent
    /// ("the peer is gone") instead of as a platform-specific number.
    public struct Code: RawRepresentable, Hashable, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// `EAGAIN`: a non-blocking call could not proceed (queue full at the high-water mark,
        /// nothing to receive, or a send/receive timeout expired).
        public static let wouldBlock = Code(rawValue: EAGAIN)
        /// `ETERM`: the context was shut down; the socket must be closed.
        public static let terminated = Code(rawValue: ETERM)
        /// `EHOSTUNREACH`: a ROUTER with `routerMandatory` has no peer with that routing id.
        public static let hostUnreachable = Code(rawValue: EHOSTUNREACH)
        /// `EINTR`: a signal interrupted the call. `zmqCall` retries these, so callers rarely see it.
        public static let interrupted = Code(rawValue: EINTR)
        /// `EINVAL`: malformed endpoint, bad option value, or an option this socket does not support.
        public static let invalidArgument = Code(rawValue: EINVAL)
        /// `ENOTSOCK`: the socket was already closed.
        public static let notSocket = Code(rawValue: ENOTSOCK)
        /// `EADDRINUSE`: another socket is already bound to the endpoint.
        public static let addressInUse = Code(rawValue: EADDRINUSE)
        /// `EPROTONOSUPPORT`: the endpoint's transport is unknown or not compiled in.
        public static let protocolNotSupported = Code(rawValue: EPROTONOSUPPORT)
        /// `ENOENT`: unbind/disconnect of an endpoint that was never bound/connected.
        public static let noEntry = Code(rawValue: ENOENT)
        /// `EFSM`: the operation is illegal in the socket's current state (e.g. REQ sending twice).
        public static let invalidState = Code(rawValue: EFSM)
        /// `ENOTSUP`: the operation is not supported by this socket type.
        public static let notSupported = Code(rawValue: ENOTSUP)
        /// `EMFILE`: the process or context ran out of sockets/descriptors.
        public static let tooManyOpenFiles = Code(rawValue: EMFILE)

        /// Lets `catch ZMQError.Code.wouldBlock { ... }` (or `catch .wouldBlock` after a
        /// typed-throws call) match thrown errors directly.
        ///
        /// Generic rather than taking `any Error`: with an existential parameter, Swift 6.3
        /// crashes compiling such a `catch` after a `throws(ZMQError)` call.
        public static func ~= <E: Error>(pattern: Code, value: E) -> Bool {
            (value as? ZMQError)?.code == pattern
        }
    }
}
