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
/// redelivery timer or the 250 ms poll, and never duplicates one.
public final class Dispatcher: Service {
    let configuration: SchedulerConfiguration
    let store: any SchedulerStore
    let clock: any WallClock
    let logger: Logger
    let leadership: Leadership
    let metrics: SchedulerMetrics
    let doorbell = Doorbell()
    let registry: Mutex<ExecutorRegistry>
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
        self.registry = Mutex(
            ExecutorRegistry(maximumPeers: configuration.maximumPeers, redeliverAfter: configuration.redeliverAfter))
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
                    registry.withLock { $0.remove(peer) }
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
            switch registry.withLock({ $0.hello(peer, hello, now: now) }) {
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
            let known = registry.withLock { $0.credit(peer, credit.n, now: now) }
            if !known { logger.debug("credit from an executor that has not said HELLO", metadata: ["executor": "\(credit.executor)"]) }
            if leading { doorbell.ring() } else { notLeader(peer, loop: loop) }
        case .heartbeat:
            registry.withLock { $0.touch(peer, now: now) }
        case .bye(let bye):
            registry.withLock { $0.remove(peer) }
            logger.info("executor left", metadata: ["executor": "\(bye.sender)"])
        case .wake:
            doorbell.ring()
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

    /// Ticks and dispatches while leader; waits for leadership otherwise.
    func lead(through loop: ZMQSocketLoop) async {
        var work = LeaderWork()
        while !Task.isCancelled {
            guard let fence = leadership.current else {
                if work.parkedRechecked { metrics.jobsParked.record(0) }  // only the leader reports parked jobs
                work = LeaderWork()
                await leadership.changed.wait(timeout: configuration.pollInterval.duration)
                continue
            }
            let wait: Duration
            do {
                wait = try await iterate(fence: fence, work: &work, loop: loop)
            } catch {
                if error.code == .notLeader {
                    logger.warning("leader write refused: lease no longer current", metadata: ["epoch": "\(fence.epoch)"])
                } else if Task.isCancelled || Task.isShuttingDownGracefully {
                    // Shutdown cancelled a database call mid-pass: nothing failed, and nothing was half-written.
                    logger.debug("leader pass interrupted by shutdown", metadata: ["error": "\(error)"])
                } else {
                    logger.error("leader iteration failed", metadata: ["error": "\(error)"])
                }
                wait = .milliseconds(100)
            }
            if wait > .zero { await doorbell.wait(timeout: wait) }
        }
    }

    /// One pass: write due tickets, dispatch claimable ones, ask for cancellations; returns how long to wait.
    func iterate(fence: LeaderFence, work: inout LeaderWork, loop: ZMQSocketLoop) async throws(StoreError) -> Duration {
        var now = clock.now()
        if let planned = work.plannedJobWake, now >= planned {
            let lag = Int((now - planned).milliseconds)
            leadership.lastTickLagMs = lag
            metrics.tickLag.recordMilliseconds(lag)
        }
        if !work.parkedRechecked {
            // Once per leadership, and never in the way of the tick: a failure here is logged, not retried.
            work.parkedRechecked = true
            await releaseParked(fence: fence, now: now)
        }
        // The tick is a fenced write transaction: run it only when a job is due (or the poll interval has passed,
        // for jobs created meanwhile), not on every doorbell. At thousands of CREDIT rings a second, ticking each
        // time took the write lock from executors' claims and completions for nothing.
        if now >= work.nextTickAt {
            let tickStart = ContinuousClock.now
            let report = try await store.tick(
                fence, now: now, lookahead: configuration.lookahead + work.writeAhead, limit: configuration.tickBatch)
            work.recordTick(jobs: report.jobsExamined, took: ContinuousClock.now - tickStart)
            metrics.recordTick(report)
            if !report.written.isEmpty || report.skipped > 0 {
                logger.debug("ticked", metadata: ["epoch": "\(fence.epoch)", "written": "\(report.written.count)", "skipped": "\(report.skipped)"])
            }
            if !report.parked.isEmpty { await parked(report.parked) }
            if let cursor = work.cursor, report.written.contains(where: { $0.position < cursor }) { work.cursor = nil }
            if report.jobsExamined == configuration.tickBatch { return .zero }  // more jobs due: keep going
            work.nextTickAt = now + configuration.pollInterval
        }

        now = clock.now()
        let credit = registry.withLock { $0.usableCredit(now: now) }
        if credit > 0 {
            // Each pass reads on from where the previous one stopped in the due queue, so it reads about as many rows
            // as it can send. Every poll interval it reads from the head instead: that re-sends tickets sent
            // BATON_REDELIVER_AFTER ago and still unclaimed, and finds tickets that became due behind the cursor (a
            // catch-up slot, a hand-back). Reading from the head on every pass (one per CREDIT) re-read every sent
            // and not yet claimed ticket each time: a quarter of the leader's CPU at 10,000 tickets/s.
            if now >= work.nextRescan {
                work.cursor = nil
                work.nextRescan = now + configuration.pollInterval
            }
            let limit = min(2000, credit + (work.cursor == nil ? work.inFlightAtHead : 0) + 32)
            let due = try await store.dueTickets(by: now, after: work.cursor, limit: limit)
            dispatch(due, complete: due.count < limit, now: now, work: &work, loop: loop)
        }
        let observing = registry.withLock { $0.awaitsFirstClaim }
        if observing { work.nextRescan = min(work.nextRescan, now + LeaderWork.probationRescan) }

        if now >= work.nextCancellationCheck {
            work.nextCancellationCheck = now + .seconds(1)
            for (ticket, executor) in try await store.cancellationsRequested() {
                guard let peer = registry.withLock({ $0.routingID(ofExecutor: executor) }) else { continue }
                loop.send([peer] + WireMessage.cancel(.init(ticket: ticket)).encode(), on: 0)
            }
        }

        let (jobDue, ticketDue) = try await store.nextWake(after: now)
        var wake = now + configuration.pollInterval
        work.plannedJobWake = nil
        if let jobDue {
            try await sizeWriteAhead(for: jobDue, now: now, work: &work)
            let at = jobDue - configuration.lookahead - work.writeAhead
            work.plannedJobWake = at
            wake = min(wake, at)
            work.nextTickAt = min(work.nextTickAt, at)
        }
        // Unclaimed tickets are re-sent by the poll (every 250 ms) once BATON_REDELIVER_AFTER has passed.
        if let ticketDue, ticketDue > now { wake = min(wake, ticketDue) }
        if observing { wake = min(wake, work.nextRescan) }
        return .milliseconds(max(0, (wake - clock.now()).milliseconds))
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

    /// Starts writing early when many jobs fall due together.
    ///
    /// Tickets are written `BATON_LOOKAHEAD` ahead of their slot, which suffices while writing them takes less than
    /// that. 100,000 jobs `* * * * *` take the leader several seconds to tick (each is a ticket insert and a job
    /// update, while executors take the same write lock), so the slots at the end of the minute's batch would be
    /// ticketed seconds late. When the earliest due instant changes, the leader counts the jobs due by then and
    /// starts early by the time it expects writing them to take at its measured tick rate (×1.5, at most
    /// ``maximumWriteAhead``). A handful of due jobs adds nothing.
    func sizeWriteAhead(for jobDue: Timestamp, now: Timestamp, work: inout LeaderWork) async throws(StoreError) {
        guard work.writeAheadSizedFor != jobDue, now >= work.nextWriteAheadCheck else { return }
        work.writeAheadSizedFor = jobDue
        work.nextWriteAheadCheck = now + configuration.pollInterval
        let horizon = jobDue + configuration.lookahead
        let count = try await store.dueJobCount(by: horizon, cap: 2_000_000)
        let seconds = Double(count) / work.tickRate * 1.5
        let extra = TimeSpan(milliseconds: Int64(seconds * 1000))
        work.writeAhead = extra < .milliseconds(100) ? .zero : min(extra, LeaderWork.maximumWriteAhead)
    }

    /// Sends due tickets within each executor's credit, one TICKETS message per executor, and moves the cursor past
    /// every ticket it has dealt with (sent, in flight, or for a queue no executor has credit for: the next read from
    /// the head finds those again). It stops at the first ticket no credit is left for.
    ///
    /// A read from the head (`complete`: it reached the end of the queue) also shows which offers were claimed, and a
    /// ticket re-sent because nobody claimed it is a strike against the peer it went to (``ExecutorRegistry``).
    func dispatch(_ due: [DueTicket], complete: Bool, now: Timestamp, work: inout LeaderWork, loop: ZMQSocketLoop) {
        let fromHead = work.cursor == nil
        if fromHead {
            let waiting = Set(due.map(\.id))
            registry.withLock { $0.observe(due: waiting, readThrough: complete ? nil : due.last?.position, now: now) }
        }
        guard !due.isEmpty else {
            if fromHead { work.inFlightAtHead = 0 }
            return
        }
        var batches: [[UInt8]: [WireMessage.TicketNotice]] = [:]
        var inFlight = 0
        var suspended: [(peer: [UInt8], executor: String, suspension: ExecutorRegistry.Suspension)] = []
        registry.withLock { registry in
            registry.expire(now: now, timeout: .seconds(5))
            for ticket in due {
                let previous = work.sent[ticket.id]
                if let previous, now - previous.at < configuration.redeliverAfter {
                    inFlight += 1
                    work.cursor = ticket.position
                    continue
                }
                if let previous, let suspension = registry.unclaimed(previous.peer, ticket: ticket.id, sentAt: previous.at, now: now) {
                    suspended.append((previous.peer, registry.peers[previous.peer]?.executorID ?? "-", suspension))
                }
                guard let peer = registry.take(queue: ticket.queue, avoid: previous?.peer, now: now) else {
                    if registry.usableCredit(now: now) == 0 { break }
                    work.cursor = ticket.position
                    continue
                }
                registry.offered(peer, ticket: ticket.id, position: ticket.position, now: now)
                batches[peer, default: []].append(
                    WireMessage.TicketNotice(id: ticket.id, job: ticket.jobID, slot: ticket.slot, epoch: ticket.epoch))
                work.sent[ticket.id] = LeaderWork.Sent(at: now, peer: peer)
                work.cursor = ticket.position
                if previous != nil { metrics.redelivered.increment() }
            }
        }
        if fromHead { work.inFlightAtHead = inFlight }
        for (peer, executor, suspension) in suspended {
            metrics.peersSuspended.increment()
            warn("suspended:\(Self.peerName(peer))", "stopped offering to an executor that claims nothing it is offered", [
                "peer": "\(Self.peerName(peer))", "executor": "\(executor)", "strikes": "\(suspension.strikes)",
                "until": "\(suspension.until)",
            ])
        }
        for (peer, notices) in batches {
            loop.send([peer] + WireMessage.tickets(notices).encode(), on: 0)
            metrics.ticketsDispatched.increment(by: notices.count)
        }
        if now >= work.nextForget {
            work.nextForget = now + configuration.redeliverAfter
            work.sent = work.sent.filter { now - $0.value.at < configuration.redeliverAfter * 30 }
        }
    }
}

/// The leader loop's memory between passes: what was sent where and when (for redelivery),
/// and when the next job was expected (for the tick-lag metric). Lost on failover by design:
/// a new leader simply sends pending tickets again.
struct LeaderWork {
    struct Sent {
        var at: Timestamp
        var peer: [UInt8]
    }

    var sent: [TicketID: Sent] = [:]
    var plannedJobWake: Timestamp?
    /// When the next tick is due: the earliest job's `due_at − lookahead`, or the poll interval.
    var nextTickAt = Timestamp(milliseconds: 0)
    /// Extra lookahead for a burst of due jobs (see `Dispatcher.sizeWriteAhead`), and the due instant it was sized for.
    var writeAhead = TimeSpan.zero
    var writeAheadSizedFor: Timestamp?
    var nextWriteAheadCheck = Timestamp(milliseconds: 0)
    static let maximumWriteAhead = TimeSpan.seconds(20)
    /// Jobs ticked per second, a moving average over ticks of at least 100 jobs; 5,000 until measured.
    var tickRate = 5_000.0

    mutating func recordTick(jobs: Int, took: Duration) {
        guard jobs >= 100 else { return }
        let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
        guard seconds > 0 else { return }
        tickRate = max(500, 0.7 * tickRate + 0.3 * Double(jobs) / seconds)
    }
    /// Due tickets the last read from the head skipped because they were sent moments ago (in flight to an executor).
    var inFlightAtHead = 0
    /// Where the last pass stopped in the due queue; nil: read from the head.
    var cursor: DueCursor?
    /// When the next pass reads from the head again (redelivery, tickets that became due behind the cursor).
    var nextRescan = Timestamp(milliseconds: 0)
    /// How soon the head is read again while a peer on probation holds an offer (see `ExecutorRegistry.take`).
    static let probationRescan = TimeSpan.milliseconds(10)
    var nextCancellationCheck = Timestamp(milliseconds: 0)
    var nextForget = Timestamp(milliseconds: 0)
    /// Whether this leadership has looked at the parked jobs yet.
    var parkedRechecked = false
}
