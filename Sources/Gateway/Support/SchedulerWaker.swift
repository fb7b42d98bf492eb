import BatonCore
import Logging
import ServiceLifecycle
import ZeroMQ

/// Tells schedulers at once that a manual ticket exists (`WAKE`, CONTRACT §8), instead of letting the
/// leader find it at its next 250 ms poll. One DEALER per endpoint in `BATON_SCHEDULERS`, LINGER 0:
/// fire-and-forget, because the database is the authority and a lost WAKE only delays the ticket.
public final class SchedulerWaker: Service, Sendable {
    let endpoints: [String]
    let logger: Logger
    private let context: ZMQContext?
    private let loop: ZMQSocketLoop?

    private init(endpoints: [String], logger: Logger, context: ZMQContext?, loop: ZMQSocketLoop?) {
        self.endpoints = endpoints
        self.logger = logger
        self.context = context
        self.loop = loop
    }

    /// Connects one DEALER per endpoint before the API serves, so the first trigger can already wake.
    /// Connecting is asynchronous in ZeroMQ: messages queue until the peer is there. A failure (a malformed
    /// endpoint) is logged and leaves a waker that does nothing: wakes are an optimisation.
    static func connect(
        endpoints: [String], keys: CurveKeyPair? = nil, serverKey: CurvePublicKey? = nil, logger: Logger
    ) async -> SchedulerWaker {
        guard !endpoints.isEmpty else { return SchedulerWaker(endpoints: [], logger: logger, context: nil, loop: nil) }
        do {
            let context = try ZMQContext()
            let loop = try await ZMQSocketLoop(context: context) { context in
                try endpoints.map { endpoint in
                    let socket = try ZMQSocket(context: context, type: .dealer, linger: 0)
                    if let keys, let serverKey { try socket.useCurveClient(keys, serverKey: serverKey) }
                    try socket.set(.maxMessageSize, Int64(WireMessage.maximumSize))
                    try socket.connect(endpoint)
                    return socket
                }
            }
            return SchedulerWaker(endpoints: endpoints, logger: logger, context: context, loop: loop)
        } catch {
            logger.error(
                "cannot connect to schedulers; manual tickets wait for the leader's poll",
                metadata: ["schedulers": "\(endpoints.joined(separator: ","))", "error": "\(error)"])
            return SchedulerWaker(endpoints: endpoints, logger: logger, context: nil, loop: nil)
        }
    }

    /// Queues a WAKE for every scheduler; never blocks and never fails the caller.
    func wake(ticket: TicketID) {
        guard let loop else { return }
        let frames = WireMessage.wake(.init(ticket: ticket)).encode()
        for index in endpoints.indices { loop.send(frames, on: index) }
    }

    /// Logs refused sends until graceful shutdown, then closes the sockets (LINGER 0: unsent wakes are dropped).
    public func run() async throws {
        guard let loop else {
            try? await gracefulShutdown()
            return
        }
        for await event in loop.events.cancelOnGracefulShutdown() {
            if case .sendFailed(let index, _, let error) = event {
                logger.warning("WAKE not sent", metadata: ["endpoint": "\(endpoints[index])", "error": "\(error)"])
            }
        }
        await loop.shutdown()
        context?.shutdown()
    }
}
