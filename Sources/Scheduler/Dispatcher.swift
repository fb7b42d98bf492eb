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
    let registry = Mutex(ExecutorRegistry())
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
        self.context = try ZMQContext()
    }

    public func run() async throws {
        let bind = configuration.dispatchBind
        let loop = try await ZMQSocketLoop(context: context) { context in
            let socket = try ZMQSocket(context: context, type: .router)
            try socket.set(.maxMessageSize, Int64(WireMessage.maximumSize))
            try socket.set(.routerMandatory, true)
            try socket.set(.sendHighWaterMark, 100_000)
            try socket.bind(bind)
            return [socket]
        }
        boundEndpoint.withLock { $0 = loop.endpoints.first ?? nil }
        logger.info("dispatch socket bound", metadata: ["endpoint": "\(loop.endpoints.first.flatMap { $0 } ?? bind)"])
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
            let isNew = registry.withLock { $0.hello(peer, hello, now: now) }
            if isNew { logger.info("executor connected", metadata: ["executor": "\(hello.executor)", "capacity": "\(hello.capacity)"]) }
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
        logger.warning("dropped malformed message", metadata: ["reason": "\(reason.prefix(200))", "peer": "\(Self.peerName(peer))"])
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
            if !report.written.isEmpty || report.skipped > 0 {
                metrics.ticketsWritten.increment(by: report.written.count)
                metrics.ticketsSkipped.increment(by: report.skipped)
                logger.debug("ticked", metadata: ["epoch": "\(fence.epoch)", "written": "\(report.written.count)", "skipped": "\(report.skipped)"])
            }
            metrics.skipsUnrecorded.increment(by: report.unrecordedSkips)
            if !report.parked.isEmpty { await parked(report.parked) }
            if let cursor = work.cursor, report.written.contains(where: { $0.position < cursor }) { work.cursor = nil }
            if report.jobsExamined == configuration.tickBatch { return .zero }  // more jobs due: keep going
            work.nextTickAt = now + configuration.pollInterval
        }

        now = clock.now()
        let credit = registry.withLock { $0.totalCredit }
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
            dispatch(try await store.dueTickets(by: now, after: work.cursor, limit: limit), now: now, work: &work, loop: loop)
        }

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
    func dispatch(_ due: [DueTicket], now: Timestamp, work: inout LeaderWork, loop: ZMQSocketLoop) {
        let fromHead = work.cursor == nil
        guard !due.isEmpty else {
            if fromHead { work.inFlightAtHead = 0 }
            return
        }
        var batches: [[UInt8]: [WireMessage.TicketNotice]] = [:]
        var inFlight = 0
        registry.withLock { registry in
            registry.expire(now: now, timeout: .seconds(5))
            for ticket in due {
                let previous = work.sent[ticket.id]
                if let previous, now - previous.at < configuration.redeliverAfter {
                    inFlight += 1
                    work.cursor = ticket.position
                    continue
                }
                guard let peer = registry.take(queue: ticket.queue, avoid: previous?.peer) else {
                    if registry.totalCredit == 0 { break }
                    work.cursor = ticket.position
                    continue
                }
                batches[peer, default: []].append(
                    WireMessage.TicketNotice(id: ticket.id, job: ticket.jobID, slot: ticket.slot, epoch: ticket.epoch))
                work.sent[ticket.id] = LeaderWork.Sent(at: now, peer: peer)
                work.cursor = ticket.position
                if previous != nil { metrics.redelivered.increment() }
            }
        }
        if fromHead { work.inFlightAtHead = inFlight }
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
    var nextCancellationCheck = Timestamp(milliseconds: 0)
    var nextForget = Timestamp(milliseconds: 0)
    /// Whether this leadership has looked at the parked jobs yet.
    var parkedRechecked = false
}
