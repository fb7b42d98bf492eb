import BatonCore
import BatonStore

/// The leader's dispatch loop as a pure state machine (CONTRACT §8): events in, actions out, no clock and no I/O.
///
/// The receive path (HELLO, CREDIT, HEARTBEAT, BYE, WAKE) and the lead task feed the same instance, so what the
/// executors say and what the leader reads are decided in one place. The shell (`Dispatcher`) performs the actions
/// in order, one at a time, and feeds each store result back as the matching event.
///
/// One pass, while leading:
/// ```
///  following ──passStarted(fence)──▶ releasingParked ─(first pass of a leadership only)─┐
///      ▲                                                                                 ▼
///      │ passStarted(nil)                 ticking ◀── tick due? ──────────────────────────┤
///      │                                     │ ticked                                     │ no
///      │                                     ▼                                            ▼
///    idle ◀── sleep(until:) ── nextWake ◀── cancellations ◀── readingDue (credit > 0) ◀───┘
///    (any store failure: sleep(until: now + leaderFailureRetry); a full tick batch: go again at once)
/// ```
/// An event that does not fit the current phase never traps: it returns `.unexpected` and a sleep, and the next pass
/// starts clean.
struct LeaderLoop: Sendable {
    enum Phase: Sendable, Equatable {
        /// Not leader: only the registry is kept up to date.
        case following
        /// Leader, between passes.
        case idle
        case releasingParked
        case ticking
        case readingDue(limit: Int)
        case readingCancellations
        case readingNextWake
        case countingDueJobs(jobDue: Timestamp, ticketDue: Timestamp?)
    }

    /// One TICKETS message.
    struct Offer: Sendable, Equatable {
        var peer: [UInt8]
        var notices: [WireMessage.TicketNotice]
        /// How many of `notices` were sent before and not claimed (for the redelivery metric).
        var redelivered: Int
    }

    enum Action: Sendable, Equatable {
        /// Not leader: wait for a leadership change (or `timeout`). `clearParkedGauge`: this process reported the
        /// parked-jobs gauge while it led, and only a leader reports it.
        case waitForLeadership(timeout: TimeSpan, clearParkedGauge: Bool)
        /// Re-check parked jobs, once per leadership; a failure is logged, then report `parkedReleased`.
        case releaseParked(LeaderFence, now: Timestamp)
        case recordTickLag(milliseconds: Int64)
        /// Report `ticked`.
        case tick(LeaderFence, now: Timestamp, lookahead: TimeSpan, limit: Int)
        /// Report `dueRead`.
        case readDue(by: Timestamp, after: DueCursor?, limit: Int)
        case send(Offer)
        case reportSuspended(peer: [UInt8], executor: String, ExecutorRegistry.Suspension)
        /// Report `cancellationsRead`.
        case readCancellations
        case forwardCancel(peer: [UInt8], ticket: TicketID)
        /// Report `nextWakeRead`.
        case readNextWake(after: Timestamp)
        /// Report `dueJobsCounted`.
        case countDueJobs(by: Timestamp, cap: Int)
        /// The pass is over: wait until this instant, or until the doorbell rings (CREDIT, WAKE).
        case sleep(until: Timestamp)
        /// An event that does not fit the phase: a bug in the shell, logged, never a trap.
        case unexpected(String)
    }

    /// The loop's constants: `SchedulerConfiguration` gives each one with its reason.
    let settings: SchedulerConfiguration
    private(set) var registry: ExecutorRegistry
    private(set) var phase: Phase = .following
    /// Nil while following: a new leadership starts from nothing (a new leader simply sends pending tickets again).
    private(set) var work: LeaderWork?
    private var pass = Pass()

    /// What one pass remembers between its steps.
    private struct Pass {
        /// The pass's first instant: the tick runs "as of" it, and the next tick is planned from it.
        var startedAt = Timestamp(milliseconds: 0)
        /// The instant the due queue was read at (or would have been): dispatch, cancellations and the next wake use it.
        var now = Timestamp(milliseconds: 0)
        var observing = false
        /// The read filled its page and credit is left over: go again at once instead of sleeping.
        var readOn = false
    }

    init(settings: SchedulerConfiguration, maximumPeers: Int) {
        self.settings = settings
        self.registry = ExecutorRegistry(maximumPeers: maximumPeers, redeliverAfter: settings.redeliverAfter)
    }

    var isLeading: Bool { work != nil }

    // MARK: Receive path

    mutating func hello(_ peer: [UInt8], _ hello: WireMessage.Hello, now: Timestamp) -> ExecutorRegistry.HelloOutcome {
        registry.hello(peer, hello, now: now)
    }

    /// Returns false for a peer that has not said HELLO (its credit is ignored).
    mutating func credit(_ peer: [UInt8], _ n: Int, now: Timestamp) -> Bool {
        registry.credit(peer, n, now: now)
    }

    mutating func heartbeat(_ peer: [UInt8], now: Timestamp) {
        registry.touch(peer, now: now)
    }

    /// BYE, or a send that found the peer unreachable: forget its credit at once.
    mutating func gone(_ peer: [UInt8]) {
        registry.remove(peer)
    }

    /// A gateway committed a manual ticket (`WAKE`). Its notBefore is the gateway's clock at the trigger, taken before
    /// the commit, so it may sort behind where the cursor has already read: the next read starts at the head, or the
    /// ticket would wait for the periodic rescan (up to a poll interval). A WAKE without an id (an older gateway) or
    /// for a ticket already sent only rings the doorbell. Returns whether to ring it.
    mutating func wake(ticket: TicketID?, now: Timestamp) -> Bool {
        if let ticket, work != nil, work?.sent[ticket] == nil {
            work?.headReadRequested = true
        }
        return true
    }

    // MARK: Lead path

    /// The lead task starts a pass (at start, after a sleep or a doorbell) with the current leadership.
    mutating func passStarted(fence: LeaderFence?, now: Timestamp) -> [Action] {
        guard let fence else {
            let clear = work?.parkedRechecked ?? false
            work = nil
            phase = .following
            return [.waitForLeadership(timeout: settings.pollInterval, clearParkedGauge: clear)]
        }
        var actions: [Action] = []
        if phase != .idle && phase != .following {
            actions.append(.unexpected("pass started while \(phase)"))
        }
        if work?.fence != fence {
            // A new leadership (or a new epoch of ours) owes the parked re-check again and knows nothing it sent.
            work = LeaderWork(fence: fence, tickRate: settings.initialTickRate)
        }
        pass = Pass(startedAt: now, now: now)
        if let planned = work!.plannedJobWake, now >= planned {
            actions.append(.recordTickLag(milliseconds: (now - planned).milliseconds))
        }
        if !work!.parkedRechecked {
            // Once per leadership, and never in the way of the tick: a failure here is logged, not retried.
            work!.parkedRechecked = true
            phase = .releasingParked
            return actions + [.releaseParked(fence, now: now)]
        }
        return actions + tickOrRead(now: now)
    }

    mutating func parkedReleased(now: Timestamp) -> [Action] {
        guard phase == .releasingParked else { return unexpected("parked jobs released", now: now) }
        return tickOrRead(now: now)
    }

    /// The tick is a fenced write transaction: run it only when a job is due (or the poll interval has passed, for
    /// jobs created meanwhile), not on every doorbell. At thousands of CREDIT rings a second, ticking each time took
    /// the write lock from executors' claims and completions for nothing.
    private mutating func tickOrRead(now: Timestamp) -> [Action] {
        guard let work else { return unexpected("no leadership", now: now) }
        if pass.startedAt >= work.nextTickAt {
            phase = .ticking
            return [
                .tick(
                    work.fence, now: pass.startedAt, lookahead: settings.lookahead + work.writeAhead, limit: settings.tickBatch)
            ]
        }
        return read(now: now)
    }

    mutating func ticked(_ report: TickReport, took: Duration, now: Timestamp) -> [Action] {
        guard phase == .ticking, work != nil else { return unexpected("tick done", now: now) }
        work!.recordTick(jobs: report.jobsExamined, took: took, settings: settings)
        if let cursor = work!.cursor, report.written.contains(where: { $0.position < cursor }) { work!.cursor = nil }
        if report.jobsExamined == settings.tickBatch {
            // More jobs due: tick again at once.
            phase = .idle
            return [.sleep(until: now)]
        }
        work!.nextTickAt = pass.startedAt + settings.pollInterval
        return read(now: now)
    }

    /// Each pass reads on from where the previous one stopped in the due queue, so it reads about as many rows as it
    /// can send. Every poll interval it reads from the head instead: that re-sends tickets sent
    /// BATON_REDELIVER_AFTER ago and still unclaimed, and finds tickets that became due behind the cursor (a catch-up
    /// slot, a hand-back). Reading from the head on every pass (one per CREDIT) re-read every sent and not yet
    /// claimed ticket each time: a quarter of the leader's CPU at 10,000 tickets/s.
    private mutating func read(now: Timestamp) -> [Action] {
        guard work != nil else { return unexpected("no leadership", now: now) }
        pass.now = now
        let credit = registry.usableCredit(now: now)
        guard credit > 0 else { return afterDispatch() }
        if now >= work!.nextRescan {
            work!.cursor = nil
            work!.nextRescan = now + settings.pollInterval
        }
        if work!.headReadRequested {
            work!.cursor = nil
            work!.headReadRequested = false
        }
        let limit = min(settings.dueReadCap, credit + (work!.cursor == nil ? work!.inFlightAtHead : 0) + settings.dueReadSlack)
        phase = .readingDue(limit: limit)
        return [.readDue(by: now, after: work!.cursor, limit: limit)]
    }

    mutating func dueRead(_ due: [DueTicket], now: Timestamp) -> [Action] {
        guard case .readingDue(let limit) = phase, work != nil else { return unexpected("due tickets read", now: now) }
        let complete = due.count < limit
        let (actions, progressed) = dispatch(due, complete: complete, now: pass.now)
        // A full page with credit left over means more due tickets wait after the cursor: read them now rather than
        // after a poll interval (no CREDIT comes from executors whose credit did not change). Only when the page
        // moved something (a send, or an offer still in flight): a page of tickets no executor serves would
        // otherwise be read through again and again.
        pass.readOn = !complete && progressed && registry.usableCredit(now: pass.now) > 0
        return actions + afterDispatch()
    }

    private mutating func afterDispatch() -> [Action] {
        let now = pass.now
        pass.observing = registry.awaitsFirstClaim
        if pass.observing { work!.nextRescan = min(work!.nextRescan, now + settings.probationRescan) }
        if now >= work!.nextCancellationCheck {
            work!.nextCancellationCheck = now + settings.cancellationCheckInterval
            phase = .readingCancellations
            return [.readCancellations]
        }
        phase = .readingNextWake
        return [.readNextWake(after: now)]
    }

    mutating func cancellationsRead(_ requested: [(TicketID, executor: String)], now: Timestamp) -> [Action] {
        guard phase == .readingCancellations, work != nil else { return unexpected("cancellations read", now: now) }
        var actions: [Action] = requested.compactMap { ticket, executor in
            registry.routingID(ofExecutor: executor).map { Action.forwardCancel(peer: $0, ticket: ticket) }
        }
        phase = .readingNextWake
        actions.append(.readNextWake(after: pass.now))
        return actions
    }

    mutating func nextWakeRead(jobDue: Timestamp?, ticketDue: Timestamp?, now: Timestamp) -> [Action] {
        guard phase == .readingNextWake, work != nil else { return unexpected("next wake read", now: now) }
        work!.plannedJobWake = nil
        if let jobDue, work!.writeAheadSizedFor != jobDue, pass.now >= work!.nextWriteAheadCheck {
            work!.writeAheadSizedFor = jobDue
            work!.nextWriteAheadCheck = pass.now + settings.pollInterval
            phase = .countingDueJobs(jobDue: jobDue, ticketDue: ticketDue)
            return [.countDueJobs(by: jobDue + settings.lookahead, cap: settings.dueJobCountCap)]
        }
        return finish(jobDue: jobDue, ticketDue: ticketDue)
    }

    /// Starts writing early when many jobs fall due together.
    ///
    /// Tickets are written `BATON_LOOKAHEAD` ahead of their slot, which suffices while writing them takes less than
    /// that. 100,000 jobs `* * * * *` take the leader several seconds to tick (each is a ticket insert and a job
    /// update, while executors take the same write lock), so the slots at the end of the minute's batch would be
    /// ticketed seconds late. When the earliest due instant changes, the leader counts the jobs due by then and
    /// starts early by the time it expects writing them to take at its measured tick rate (× `writeAheadMargin`, at
    /// most `maximumWriteAhead`). A handful of due jobs adds nothing.
    mutating func dueJobsCounted(_ count: Int, now: Timestamp) -> [Action] {
        guard case .countingDueJobs(let jobDue, let ticketDue) = phase, work != nil else {
            return unexpected("due jobs counted", now: now)
        }
        let seconds = Double(count) / work!.tickRate * settings.writeAheadMargin
        let extra = TimeSpan(milliseconds: Int64(seconds * 1000))
        work!.writeAhead = extra < settings.minimumWriteAhead ? .zero : min(extra, settings.maximumWriteAhead)
        return finish(jobDue: jobDue, ticketDue: ticketDue)
    }

    private mutating func finish(jobDue: Timestamp?, ticketDue: Timestamp?) -> [Action] {
        let now = pass.now
        var wake = now + settings.pollInterval
        if let jobDue {
            let at = jobDue - settings.lookahead - work!.writeAhead
            work!.plannedJobWake = at
            wake = min(wake, at)
            work!.nextTickAt = min(work!.nextTickAt, at)
        }
        // Unclaimed tickets are re-sent by the poll (every poll interval) once BATON_REDELIVER_AFTER has passed.
        if let ticketDue, ticketDue > now { wake = min(wake, ticketDue) }
        if pass.observing { wake = min(wake, work!.nextRescan) }
        if pass.readOn { wake = now }
        phase = .idle
        return [.sleep(until: wake)]
    }

    /// A store call of this pass failed, the database refusing our fence (lease lost) included. The pass is abandoned;
    /// the next one starts after `leaderFailureRetry` and learns from the elector whether this process still leads. The
    /// memory of what was sent is kept until the fence changes: a lease regained under the same epoch goes on.
    mutating func passFailed(now: Timestamp) -> [Action] {
        phase = work == nil ? .following : .idle
        return [.sleep(until: now + settings.leaderFailureRetry)]
    }

    private mutating func unexpected(_ event: String, now: Timestamp) -> [Action] {
        let was = phase
        phase = work == nil ? .following : .idle
        return [.unexpected("\(event) while \(was)"), .sleep(until: now + settings.pollInterval)]
    }

    /// Sends due tickets within each executor's credit, one TICKETS message per executor, and moves the cursor past
    /// every ticket it has dealt with (sent, in flight, or for a queue no executor has credit for: the next read from
    /// the head finds those again). It stops at the first ticket no credit is left for.
    ///
    /// A read from the head (`complete`: it reached the end of the queue) also shows which offers were claimed, and a
    /// ticket re-sent because nobody claimed it is a strike against the peer it went to (``ExecutorRegistry``).
    /// Returns the actions and whether any ticket was sent or found still in flight.
    private mutating func dispatch(_ due: [DueTicket], complete: Bool, now: Timestamp) -> ([Action], Bool) {
        // Moved out, not copied: with `self.work` still holding it, the first write to `work.sent` would copy the whole
        // dictionary (tens of thousands of entries at 10,000 tickets/s) on every pass.
        var work = self.work.take()!
        defer { self.work = work }
        let fromHead = work.cursor == nil
        if fromHead {
            registry.observe(due: Set(due.map(\.id)), readThrough: complete ? nil : due.last?.position, now: now)
        }
        guard !due.isEmpty else {
            if fromHead { work.inFlightAtHead = 0 }
            return ([], false)
        }
        var offers: [Offer] = []
        var offerIndex: [[UInt8]: Int] = [:]
        var inFlight = 0
        var actions: [Action] = []
        registry.expire(now: now, timeout: settings.peerSilenceTimeout)
        for ticket in due {
            let previous = work.sent[ticket.id]
            if let previous, now - previous.at < settings.redeliverAfter {
                inFlight += 1
                work.cursor = ticket.position
                continue
            }
            if let previous, let suspension = registry.unclaimed(previous.peer, ticket: ticket.id, sentAt: previous.at, now: now) {
                actions.append(
                    .reportSuspended(peer: previous.peer, executor: registry.peers[previous.peer]?.executorID ?? "-", suspension))
            }
            guard let peer = registry.take(queue: ticket.queue, avoid: previous?.peer, now: now) else {
                if registry.usableCredit(now: now) == 0 { break }
                work.cursor = ticket.position
                continue
            }
            registry.offered(peer, ticket: ticket.id, position: ticket.position, now: now)
            let notice = WireMessage.TicketNotice(id: ticket.id)
            if let index = offerIndex[peer] {
                offers[index].notices.append(notice)
                offers[index].redelivered += previous == nil ? 0 : 1
            } else {
                offerIndex[peer] = offers.count
                offers.append(Offer(peer: peer, notices: [notice], redelivered: previous == nil ? 0 : 1))
            }
            work.sent[ticket.id] = LeaderWork.Sent(at: now, peer: peer)
            work.cursor = ticket.position
        }
        if fromHead { work.inFlightAtHead = inFlight }
        if now >= work.nextForget {
            work.nextForget = now + settings.redeliverAfter
            let memory = settings.redeliverAfter * settings.sentMemoryFactor
            work.sent = work.sent.filter { now - $0.value.at < memory }
        }
        return (actions + offers.map(Action.send), inFlight > 0 || !offers.isEmpty)
    }
}

/// The leader loop's memory between passes: what was sent where and when (for redelivery), and when the next job
/// was expected (for the tick-lag metric). Lost on failover by design: a new leader simply sends pending tickets again.
struct LeaderWork: Sendable {
    struct Sent: Sendable, Equatable {
        var at: Timestamp
        var peer: [UInt8]
    }

    /// The leadership this memory belongs to.
    let fence: LeaderFence
    var sent: [TicketID: Sent] = [:]
    var plannedJobWake: Timestamp?
    /// When the next tick is due: the earliest job's `due_at − lookahead`, or the poll interval.
    var nextTickAt = Timestamp(milliseconds: 0)
    /// Extra lookahead for a burst of due jobs (see `LeaderLoop.dueJobsCounted`), and the due instant it was sized for.
    var writeAhead = TimeSpan.zero
    var writeAheadSizedFor: Timestamp?
    var nextWriteAheadCheck = Timestamp(milliseconds: 0)
    /// Jobs ticked per second, a moving average over ticks of enough jobs to time; a configured guess until measured.
    var tickRate: Double
    /// Due tickets the last read from the head skipped because they were sent moments ago (in flight to an executor).
    var inFlightAtHead = 0
    /// Where the last pass stopped in the due queue; nil: read from the head.
    var cursor: DueCursor?
    /// When the next pass reads from the head again (redelivery, tickets that became due behind the cursor).
    var nextRescan = Timestamp(milliseconds: 0)
    /// A WAKE named a ticket not sent yet: the next read starts at the head (see `LeaderLoop.wake`).
    var headReadRequested = false
    var nextCancellationCheck = Timestamp(milliseconds: 0)
    var nextForget = Timestamp(milliseconds: 0)
    /// Whether this leadership has looked at the parked jobs yet.
    var parkedRechecked = false

    init(fence: LeaderFence, tickRate: Double) {
        self.fence = fence
        self.tickRate = tickRate
    }

    mutating func recordTick(jobs: Int, took: Duration, settings: SchedulerConfiguration) {
        guard jobs >= settings.tickRateSampleJobs else { return }
        let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
        guard seconds > 0 else { return }
        tickRate = max(settings.minimumTickRate, 0.7 * tickRate + 0.3 * Double(jobs) / seconds)
    }
}
