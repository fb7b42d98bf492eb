import BatonCore
import BatonStore
import Logging
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// The scheduler's ROUTER socket and the leader's work loop (CONTRACT §8).
///
/// Every scheduler binds its ROUTER from the start and keeps track of executors, so a standby
/// that becomes leader already knows who has credit; only the leader ticks and dispatches.
/// The database is the authority: a message lost here delays a ticket until the
/// redelivery timer or the poll interval, and never duplicates one.
public final class Dispatcher: Service {
    let configuration: SchedulerConfiguration
    let store: any SchedulerStore
    let clock: any WallClock
    let logger: Logger
    let leadership: Leadership
    let metrics: SchedulerMetrics
    let doorbell = Doorbell()
    /// The leader loop and the executor registry it owns: fed by the receive task and the lead task alike.
    let machine: Mutex<LeaderLoop>
    /// Thins warnings that peers can trigger at will (malformed frames, refused HELLOs and handshakes).
    let warnings = Mutex(LogThrottle())
    let context: ZMQContext
    /// The endpoint actually bound (differs from the configuration when it asks for an ephemeral port).
    let boundEndpoint = Mutex<String?>(nil)

    init(
        configuration: SchedulerConfiguration, store: any SchedulerStore, clock: any WallClock, logger: Logger,
        leadership: Leadership, metrics: SchedulerMetrics
    ) throws {
        self.configuration = configuration
        self.store = store
        self.clock = clock
        self.logger = logger
        self.leadership = leadership
        self.metrics = metrics
        self.machine = Mutex(LeaderLoop(settings: configuration, maximumPeers: configuration.maximumPeers))
        self.context = try ZMQContext()
    }

    public func run() async throws {
        let bind = configuration.dispatchBind
        let keys = configuration.dispatchKeys
        let allowList = keys.map { _ in CurveAllowList(configuration.dispatchClientKeys) }
        let loop = try await ZMQSocketLoop(context: context, allowList: allowList) { context in
            let socket = try ZMQSocket(context: context, type: .router)
            if let keys { try socket.useCurveServer(keys, zapDomain: "baton-dispatch") }
            try socket.set(.maxMessageSize, Int64(WireMessage.maximumSize))
            try socket.set(.routerMandatory, true)
            try socket.set(.sendHighWaterMark, 100_000)
            try socket.bind(bind)
            return [socket]
        }
        boundEndpoint.withLock { $0 = loop.endpoints.first ?? nil }
        logger.info(
            "dispatch socket bound",
            metadata: [
                "endpoint": "\(loop.endpoints.first.flatMap { $0 } ?? bind)",
                "auth": "\(keys.map { "curve, server key \($0.publicKey), \(configuration.dispatchClientKeys.count) client keys" } ?? "none")",
            ])
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.receive(from: loop) }
                group.addTask { await self.lead(through: loop) }
                await group.next()
                group.cancelAll()
            }
        }
        await loop.shutdown()
    }

    // MARK: Inbound

    func receive(from loop: ZMQSocketLoop) async {
        for await event in loop.events {
            if Task.isCancelled { return }
            switch event {
            case .received(_, let frames):
                handle(frames, loop: loop)
            case .sendFailed(_, let frames, let error):
                metrics.sendFailures.increment()
                logger.debug("send failed", metadata: ["error": "\(error)", "peer": "\(Self.peerName(frames.first ?? []))"])
                // An unreachable executor is gone; forget its credit at once.
                if error.code == .hostUnreachable, let peer = frames.first {
                    machine.withLock { $0.gone(peer) }
                }
            case .handshakeRefused(let address, let key):
                metrics.handshakesRefused.increment()
                warn("handshake:\(address.prefix(while: { $0 != ":" }))", "refused a dispatch peer: its CURVE key is not allowed", [
                    "address": "\(address)", "clientKey": "\(key?.z85 ?? "none")",
                ])
            }
        }
    }

    func handle(_ frames: [[UInt8]], loop: ZMQSocketLoop) {
        guard let peer = frames.first, !peer.isEmpty else {
            reject("message without a routing id", peer: [])
            return
        }
        let message: WireMessage
        do {
            message = try WireMessage.decode(Array(frames.dropFirst()))
        } catch {
            reject(error.description, peer: peer)
            return
        }
        let now = clock.now()
        let leading = leadership.current != nil
        switch message {
        case .hello(let hello):
            switch machine.withLock({ $0.hello(peer, hello, now: now) }) {
            case .registered:
                logger.info("executor connected", metadata: ["executor": "\(hello.executor)", "capacity": "\(hello.capacity)"])
            case .refreshed:
                break
            case .refusedFull:
                warn("peers-full", "ignored a HELLO: BATON_DISPATCH_MAX_PEERS executors are connected", [
                    "executor": "\(hello.executor)", "limit": "\(configuration.maximumPeers)",
                ])
                return
            }
            if !leading { notLeader(peer, loop: loop) }
        case .credit(let credit):
            let known = machine.withLock { $0.credit(peer, credit.n, now: now) }
            if !known { logger.debug("credit from an executor that has not said HELLO", metadata: ["executor": "\(credit.executor)"]) }
            if leading { doorbell.ring() } else { notLeader(peer, loop: loop) }
        case .heartbeat:
            machine.withLock { $0.heartbeat(peer, now: now) }
        case .bye(let bye):
            machine.withLock { $0.gone(peer) }
            logger.info("executor left", metadata: ["executor": "\(bye.sender)"])
        case .wake(let wake):
            if machine.withLock({ $0.wake(ticket: wake.ticket, now: now) }) { doorbell.ring() }
        case .tickets, .notLeader, .cancel:
            reject("\(message.typeName) is sent by schedulers, not to them", peer: peer)
        }
    }

    func reject(_ reason: String, peer: [UInt8]) {
        metrics.wireRejected.increment()
        warn("peer:\(Self.peerName(peer))", "dropped malformed message", ["reason": "\(reason.prefix(200))", "peer": "\(Self.peerName(peer))"])
    }

    /// A warning a peer can provoke at will: at most one line per `key` per 10 s, carrying how many were left out.
    func warn(_ key: String, _ message: Logger.Message, _ metadata: Logger.Metadata) {
        let now = clock.now()
        guard let suppressed = warnings.withLock({ $0.admit(key, now: now) }) else { return }
        var metadata = metadata
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.warning(message, metadata: metadata)
    }

    func notLeader(_ peer: [UInt8], loop: ZMQSocketLoop) {
        loop.send([peer] + WireMessage.notLeader(.init(scheduler: configuration.id)).encode(), on: 0)
    }

    static func peerName(_ id: [UInt8]) -> String {
        String(decoding: id.prefix(64), as: UTF8.self)
    }

    // MARK: Leading

    /// Ticks and dispatches while leader; waits for leadership otherwise. Each pass asks the machine what to do,
    /// performs it, and feeds the result back, until the machine says to sleep.
    func lead(through loop: ZMQSocketLoop) async {
        while !Task.isCancelled {
            let fence = leadership.current
            var pending = machine.withLock { $0.passStarted(fence: fence, now: clock.now()) }[...]
            while let action = pending.popFirst() {
                pending.append(contentsOf: await perform(action, loop: loop))
            }
        }
    }

    /// Performs one action; returns what the machine asks for next (for an action with a result).
    func perform(_ action: LeaderLoop.Action, loop: ZMQSocketLoop) async -> [LeaderLoop.Action] {
        do throws(StoreError) {
            switch action {
            case .waitForLeadership(let timeout, let clearParkedGauge):
                if clearParkedGauge { metrics.jobsParked.record(0) }  // only the leader reports parked jobs
                await leadership.changed.wait(timeout: timeout.duration)
                return []
            case .releaseParked(let fence, let now):
                await releaseParked(fence: fence, now: now)
                return machine.withLock { $0.parkedReleased(now: clock.now()) }
            case .recordTickLag(let milliseconds):
                leadership.lastTickLagMs = Int(milliseconds)
                metrics.tickLag.recordMilliseconds(Int(milliseconds))
                return []
            case .tick(let fence, let now, let lookahead, let limit):
                let tickStart = ContinuousClock.now
                let report = try await store.tick(fence, now: now, lookahead: lookahead, limit: limit)
                let took = ContinuousClock.now - tickStart
                metrics.recordTick(report)
                if !report.written.isEmpty || report.skipped > 0 {
                    logger.debug("ticked", metadata: ["epoch": "\(fence.epoch)", "written": "\(report.written.count)", "skipped": "\(report.skipped)"])
                }
                if !report.parked.isEmpty { await parked(report.parked) }
                return machine.withLock { $0.ticked(report, took: took, now: clock.now()) }
            case .readDue(let horizon, let cursor, let limit):
                let due = try await store.dueTickets(by: horizon, after: cursor, limit: limit)
                return machine.withLock { $0.dueRead(due, now: clock.now()) }
            case .send(let offer):
                loop.send([offer.peer] + WireMessage.tickets(offer.notices).encode(), on: 0)
                metrics.ticketsDispatched.increment(by: offer.notices.count)
                if offer.redelivered > 0 { metrics.redelivered.increment(by: offer.redelivered) }
                return []
            case .reportSuspended(let peer, let executor, let suspension):
                metrics.peersSuspended.increment()
                warn("suspended:\(Self.peerName(peer))", "stopped offering to an executor that claims nothing it is offered", [
                    "peer": "\(Self.peerName(peer))", "executor": "\(executor)", "strikes": "\(suspension.strikes)",
                    "until": "\(suspension.until)",
                ])
                return []
            case .readCancellations:
                let requested = try await store.cancellationsRequested()
                return machine.withLock { $0.cancellationsRead(requested, now: clock.now()) }
            case .forwardCancel(let peer, let ticket):
                loop.send([peer] + WireMessage.cancel(.init(ticket: ticket)).encode(), on: 0)
                return []
            case .readNextWake(let after):
                let (jobDue, ticketDue) = try await store.nextWake(after: after)
                return machine.withLock { $0.nextWakeRead(jobDue: jobDue, ticketDue: ticketDue, now: clock.now()) }
            case .countDueJobs(let horizon, let cap):
                let count = try await store.dueJobCount(by: horizon, cap: cap)
                return machine.withLock { $0.dueJobsCounted(count, now: clock.now()) }
            case .sleep(let until):
                let wait = until - clock.now()
                if wait > .zero { await doorbell.wait(timeout: wait.duration) }
                return []
            case .unexpected(let what):
                logger.error("leader loop: unexpected event; the pass is abandoned", metadata: ["event": "\(what)"])
                return []
            }
        } catch {
            let epoch = leadership.current.map { "\($0.epoch)" } ?? "-"
            if error.code == .notLeader {
                logger.warning("leader write refused: lease no longer current", metadata: ["epoch": "\(epoch)"])
            } else if error.code == .cancelled || Task.isCancelled || Task.isShuttingDownGracefully {
                // Shutdown cancelled a database call mid-pass: nothing failed, and nothing was half-written.
                logger.debug("leader pass interrupted by shutdown", metadata: ["error": "\(error)"])
            } else {
                logger.error("leader iteration failed", metadata: ["error": "\(error)"])
            }
            return machine.withLock { $0.passFailed(now: clock.now()) }
        }
    }

    /// Logs each job the tick parked (once: a parked job is not ticked again) and updates the metrics.
    func parked(_ jobs: [ParkedJob]) async {
        metrics.jobsParkedTotal.increment(by: jobs.count)
        for job in jobs {
            logger.error(
                "job parked: this scheduler cannot plan it; every other job keeps running",
                metadata: ["job": "\(job.name)", "revision": "\(job.revision)", "reason": "\(job.reason)"])
        }
        if let count = try? await store.parkedJobCount() { metrics.jobsParked.record(count) }
    }

    /// A new leader may read what its predecessor could not (a newer build, or a host with the missing time zone).
    func releaseParked(fence: LeaderFence, now: Timestamp) async {
        do {
            let (released, stillParked) = try await store.releaseParked(fence, now: now)
            for job in released {
                logger.notice("parked job released: this scheduler can plan it", metadata: ["job": "\(job.name)", "revision": "\(job.revision)"])
            }
            if stillParked > 0 {
                logger.warning("jobs stay parked: replace their spec (PUT) or delete them", metadata: ["count": "\(stillParked)"])
            }
            metrics.jobsParked.record(stillParked)
        } catch {
            logger.warning("could not re-check parked jobs", metadata: ["error": "\(error)"])
        }
    }
}
