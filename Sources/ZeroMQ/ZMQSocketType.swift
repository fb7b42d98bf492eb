import CZeroMQ

/// The messaging pattern of a socket; it decides routing, fan-out and frame envelopes.
public enum ZMQSocketType: Sendable, Hashable, CaseIterable {
    /// Exclusive 1:1 link, mostly for inproc signalling between threads.
    case pair
    /// Fan-out to all subscribers; drops for slow subscribers instead of blocking.
    case pub
    /// Receives the publisher messages that match a ``ZMQSocket/subscribe(_:)`` prefix.
    case sub
    /// Load-balances messages to connected pullers.
    case push
    /// Fair-queues messages from pushers.
    case pull
    /// Asynchronous peer of a ROUTER; its routing id names it to the ROUTER.
    case dealer
    /// Prefixes each inbound message with the sender's routing id and routes outbound
    /// messages by their first frame, which is how the scheduler addresses one worker.
    case router
    /// Strict request-reply server: receive, then send exactly one reply. Baton uses it only as the ZAP
    /// handler (``CurveAllowList``), whose protocol is request-reply.
    case rep

    var rawValue: Int32 {
        switch self {
        case .pair: ZMQ_PAIR
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .rep: ZMQ_REP
        }
    }
}
