import BatonCore
import Testing

import BatonStore

@testable import Scheduler

/// The leader loop as a protocol transcript: each test feeds events at injected instants and reads the actions.
@Suite("Leader loop")
struct LeaderLoopTests {
    static let t0 = Timestamp(milliseconds: 1_000_000)
    let fence = LeaderFence(holder: "s1", epoch: 7)
    let a = Array("exec-a".utf8)
    let b = Array("exec-b".utf8)

    static func id(_ n: Int) -> TicketID {
        TicketID(bytes: [UInt8](repeating: 0, count: 24) + withUnsafeBytes(of: UInt64(n).bigEndian) { Array($0) })!
    }

    static func due(_ n: Int, at notBefore: Timestamp, queue: String = "default") -> DueTicket {
        DueTicket(
            seq: Int64(n), id: id(n), jobID: JobID(rawValue: "job-\(n)"), slot: notBefore, epoch: 7, queue: queue,
            notBefore: notBefore)
    }

    static func machine(_ configure: (inout SchedulerConfiguration) -> Void = { _ in }) -> LeaderLoop {
        var configuration = SchedulerConfiguration(id: "s1")
        configure(&configuration)
        return LeaderLoop(settings: configuration, maximumPeers: 16)
    }

    func hello(_ name: String, capacity: Int = 4) -> WireMessage.Hello {
        WireMessage.Hello(executor: name, capacity: capacity, version: "test")
    }

    /// Leads from `t0` with the parked re-check and a tick done, and stops where the machine asks to read the due queue.
    func startLeading(_ machine: inout LeaderLoop, at now: Timestamp = t0) -> [LeaderLoop.Action] {
        let start = machine.passStarted(fence: fence, now: now)
        #expect(start == [.releaseParked(fence, now: now)], "a new leadership re-checks parked jobs first")
        let tick = machine.parkedReleased(now: now)
        #expect(tick == [.tick(fence, now: now, lookahead: .seconds(1), limit: 500)])
        return machine.ticked(TickReport(), took: .milliseconds(1), now: now)
    }

    static func sends(_ actions: [LeaderLoop.Action]) -> [LeaderLoop.Offer] {
        actions.compactMap { if case .send(let offer) = $0 { offer } else { nil } }
    }

    static func sleep(_ actions: [LeaderLoop.Action]) -> Timestamp? {
        actions.compactMap { if case .sleep(let until) = $0 { until } else { nil } }.last
    }

    /// Finishes a pass after the due read: no cancellations, no job or ticket due later.
    static func finishPass(_ machine: inout LeaderLoop, _ actions: [LeaderLoop.Action], now: Timestamp) -> Timestamp? {
        var actions = actions
        if actions.contains(.readCancellations) { actions = machine.cancellationsRead([], now: now) }
        #expect(actions.last.map { if case .readNextWake = $0 { true } else { false } } ?? false, "\(actions)")
        return sleep(machine.nextWakeRead(jobDue: nil, ticketDue: nil, now: now))
    }

    /// Makes `peer` a proven executor: offered one ticket on probation (far back in the queue), and a head read
    /// 10 ms later finds it claimed. Ends between passes at `now + 10 ms`.
    func prove(_ machine: inout LeaderLoop, _ peer: [UInt8], ticket n: Int, at now: Timestamp) {
        var actions = machine.passStarted(fence: fence, now: now)
        if case .releaseParked = actions.last { actions = machine.parkedReleased(now: now) }
        if case .tick = actions.last { actions = machine.ticked(TickReport(), took: .milliseconds(1), now: now) }
        guard case .readDue = actions.last else {
            Issue.record("expected a due read, got \(actions)")
            return
        }
        actions = machine.dueRead([Self.due(n, at: now - .days(1))], now: now)
        #expect(Self.sends(actions).map(\.peer) == [peer])
        let wake = Self.finishPass(&machine, actions, now: now)
        #expect(wake == now + .milliseconds(10), "a peer on probation holds an offer: the head is read again soon")
        let later = now + .milliseconds(10)
        actions = machine.passStarted(fence: fence, now: later)
        guard case .readDue(_, nil, _) = actions.last else {
            Issue.record("expected a head read, got \(actions)")
            return
        }
        _ = Self.finishPass(&machine, machine.dueRead([], now: later), now: later)
        #expect(!machine.registry.awaitsFirstClaim)
    }

    // MARK: Receive path

    @Test func followerKeepsExecutorsButDoesNotDispatch() {
        var machine = Self.machine()
        _ = machine.hello(a, hello("exec-a"), now: Self.t0)
        let known = machine.credit(a, 4, now: Self.t0)
        let stranger = machine.credit(b, 4, now: Self.t0)
        #expect(known)
        #expect(!stranger, "credit before HELLO is ignored")
        let actions = machine.passStarted(fence: nil, now: Self.t0)
        #expect(actions == [.waitForLeadership(timeout: .milliseconds(250), clearParkedGauge: false)])
        #expect(machine.registry.usableCredit(now: Self.t0) == 4, "a standby that becomes leader already knows the credit")
        #expect(!machine.isLeading)
    }

    // MARK: Scenarios

    @Test func creditArrivingMidReadIsUsedByTheNextPassNotLost() {
        var machine = Self.machine()
        _ = machine.hello(a, hello("exec-a"), now: Self.t0)
        _ = machine.credit(a, 1, now: Self.t0)
        let read = startLeading(&machine)
        #expect(read == [.readDue(by: Self.t0, after: nil, limit: 1 + 32)])
        // While the read is out, the executor frees three more slots.
        _ = machine.credit(a, 4, now: Self.t0 + .milliseconds(1))
        let due = (1...6).map { Self.due($0, at: Self.t0 - .seconds(1)) }
        let actions = machine.dueRead(due, now: Self.t0 + .milliseconds(2))
        #expect(Self.sends(actions).first?.notices.map(\.id) == [Self.id(1)], "a peer on probation holds one offer")
        // The page was not full, so the pass ends normally; the next pass reads on after the cursor.
        _ = Self.finishPass(&machine, actions, now: Self.t0 + .milliseconds(2))
        let next = machine.passStarted(fence: fence, now: Self.t0 + .milliseconds(3))
        guard case .readDue(_, let after, let limit) = next.first else {
            Issue.record("expected a due read, got \(next)")
            return
        }
        #expect(limit == 3 + 32, "the credit that arrived mid-read (4 free, one of them taken by ticket 1) is used")
        #expect(after == Self.due(6, at: Self.t0 - .seconds(1)).position, "the skipped tickets are left for the head read")
    }

    @Test func aRedeliveryGoesToADifferentExecutor() {
        var machine = Self.machine()
        for (peer, name) in [(a, "exec-a"), (b, "exec-b")] {
            _ = machine.hello(peer, hello(name), now: Self.t0)
            _ = machine.credit(peer, 4, now: Self.t0)
        }
        let late = Self.t0 - .seconds(1)
        _ = startLeading(&machine)
        let first = Self.sends(machine.dueRead([Self.due(1, at: late)], now: Self.t0))
        #expect(first.map(\.peer) == [a])
        _ = Self.finishPass(&machine, [.readCancellations], now: Self.t0)

        // Still unclaimed after BATON_REDELIVER_AFTER: the head read re-sends it, to b.
        let later = Self.t0 + .seconds(2)
        let pass = machine.passStarted(fence: fence, now: later)
        let read = pass.last == .tick(fence, now: later, lookahead: .seconds(1), limit: 500)
            ? machine.ticked(TickReport(), took: .milliseconds(1), now: later) : pass
        guard case .readDue(_, nil, _) = read.last else {
            Issue.record("a rescan reads from the head, got \(read)")
            return
        }
        let actions = machine.dueRead([Self.due(1, at: late)], now: later)
        let again = Self.sends(actions)
        #expect(again.map(\.peer) == [b], "a redelivered ticket goes to another executor with credit (CONTRACT §9a)")
        #expect(again.first?.redelivered == 1)
        #expect(actions.contains { if case .reportSuspended(let peer, _, _) = $0 { peer == a } else { false } },
            "a peer that never claimed what it was offered is suspended")
    }

    /// A proven executor `a` with 8 slots, and a pass at t0 + 50 ms that sends ticket 2 (due at t0 + 40 ms): the
    /// cursor now stands at ticket 2. Returns that instant.
    func leadWithCursorAtTicket2(_ machine: inout LeaderLoop) -> Timestamp {
        _ = machine.hello(a, hello("exec-a", capacity: 8), now: Self.t0)
        _ = machine.credit(a, 8, now: Self.t0)
        prove(&machine, a, ticket: 1, at: Self.t0)
        let t1 = Self.t0 + .milliseconds(50)
        let read = machine.passStarted(fence: fence, now: t1)
        guard case .readDue = read.last else {
            Issue.record("expected a due read, got \(read)")
            return t1
        }
        let actions = machine.dueRead([Self.due(2, at: Self.t0 + .milliseconds(40))], now: t1)
        #expect(Self.sends(actions).count == 1)
        _ = Self.finishPass(&machine, actions, now: t1)
        #expect(machine.work?.cursor == Self.due(2, at: Self.t0 + .milliseconds(40)).position)
        return t1
    }

    @Test func aWakeForAManualTicketBehindTheCursorReadsFromTheHeadAtOnce() {
        var machine = Self.machine()
        let t1 = leadWithCursorAtTicket2(&machine)
        // The gateway's ticket 3 has notBefore t0 + 30 ms (its clock at the trigger, before its commit): behind the
        // cursor, where a read after the cursor cannot find it.
        let ring = machine.wake(ticket: Self.id(3), now: t1 + .milliseconds(1))
        #expect(ring, "a WAKE rings the doorbell")
        let woken = machine.passStarted(fence: fence, now: t1 + .milliseconds(2))
        #expect(woken == [.readDue(by: t1 + .milliseconds(2), after: nil, limit: 6 + 32)],
            "read from the head now, not at the next rescan up to a poll interval later")
        let sent = Self.sends(machine.dueRead([Self.due(3, at: Self.t0 + .milliseconds(30))], now: t1 + .milliseconds(2)))
        #expect(sent.flatMap(\.notices).map(\.id) == [Self.id(3)])
    }

    @Test func aWakeWithoutATicketOrForOneAlreadySentKeepsTheCursor() {
        var machine = Self.machine()
        let t1 = leadWithCursorAtTicket2(&machine)
        let old = machine.wake(ticket: nil, now: t1)
        let known = machine.wake(ticket: Self.id(2), now: t1)
        #expect(old, "an older gateway's WAKE, without a ticket id, still rings")
        #expect(known)
        let pass = machine.passStarted(fence: fence, now: t1 + .milliseconds(2))
        #expect(pass == [.readDue(by: t1 + .milliseconds(2), after: Self.due(2, at: Self.t0 + .milliseconds(40)).position, limit: 6 + 32)])
    }

    @Test func leaseLossMidPassAbandonsThePassAndANewLeadershipStartsClean() {
        var machine = Self.machine()
        _ = machine.hello(a, hello("exec-a"), now: Self.t0)
        _ = machine.credit(a, 4, now: Self.t0)
        _ = machine.passStarted(fence: fence, now: Self.t0)
        _ = machine.parkedReleased(now: Self.t0)
        // The tick's fenced write is refused: the lease is no longer ours.
        let failed = machine.passFailed(now: Self.t0 + .milliseconds(3))
        #expect(failed == [.sleep(until: Self.t0 + .milliseconds(103))])
        // A late result from the abandoned pass is refused, not acted on.
        let stale = machine.ticked(TickReport(), took: .milliseconds(1), now: Self.t0 + .milliseconds(4))
        #expect(stale.first.map { if case .unexpected = $0 { true } else { false } } ?? false)
        #expect(Self.sleep(stale) != nil, "an unexpected event still ends the pass with a sleep")
        // The elector noticed: following, and the parked gauge this leader reported is cleared.
        let follow = machine.passStarted(fence: nil, now: Self.t0 + .milliseconds(110))
        #expect(follow == [.waitForLeadership(timeout: .milliseconds(250), clearParkedGauge: true)])
        #expect(machine.registry.usableCredit(now: Self.t0) == 4, "executors stay known")
        // Leading again, under a new epoch: parked jobs are re-checked again.
        let newFence = LeaderFence(holder: "s1", epoch: 9)
        let again = machine.passStarted(fence: newFence, now: Self.t0 + .seconds(5))
        #expect(again == [.releaseParked(newFence, now: Self.t0 + .seconds(5))])
    }

    @Test func writeAheadIsSizedFromTheDueJobCountAndTheTickRate() {
        var machine = Self.machine()
        let first = startLeading(&machine)
        #expect(first == [.readCancellations], "no credit: no due read")
        let wakeRead = machine.cancellationsRead([], now: Self.t0)
        #expect(wakeRead == [.readNextWake(after: Self.t0)])
        let jobDue = Self.t0 + .seconds(10)
        let count = machine.nextWakeRead(jobDue: jobDue, ticketDue: nil, now: Self.t0)
        #expect(count == [.countDueJobs(by: jobDue + .seconds(1), cap: 2_000_000)])
        // 10,000 jobs at the initial 5,000 jobs/s, × 1.5: start 3 s early.
        let sized = machine.dueJobsCounted(10_000, now: Self.t0)
        #expect(sized == [.sleep(until: Self.t0 + .milliseconds(250))])
        #expect(machine.work?.writeAhead == .seconds(3))
        #expect(machine.work?.plannedJobWake == jobDue - .seconds(1) - .seconds(3))

        // The next tick asks for the extra lookahead and reports the lag; the same due instant is not counted twice.
        let t1 = Self.t0 + .seconds(6)
        let tick = machine.passStarted(fence: fence, now: t1)
        #expect(tick == [.recordTickLag(milliseconds: 0), .tick(fence, now: t1, lookahead: .seconds(4), limit: 500)])
        let afterTick = machine.ticked(TickReport(), took: .milliseconds(1), now: t1)
        #expect(afterTick == [.readCancellations])
        _ = machine.cancellationsRead([], now: t1)
        let sleep = machine.nextWakeRead(jobDue: jobDue, ticketDue: nil, now: t1)
        #expect(sleep == [.sleep(until: jobDue - .seconds(4))])

        // A handful of due jobs adds nothing.
        var small = Self.machine()
        _ = startLeading(&small)
        _ = small.cancellationsRead([], now: Self.t0)
        _ = small.nextWakeRead(jobDue: jobDue, ticketDue: nil, now: Self.t0)
        _ = small.dueJobsCounted(50, now: Self.t0)
        #expect(small.work?.writeAhead == .zero)
    }

    @Test func aFullTickBatchTicksAgainAtOnce() {
        var machine = Self.machine()
        _ = machine.passStarted(fence: fence, now: Self.t0)
        _ = machine.parkedReleased(now: Self.t0)
        var report = TickReport()
        report.jobsExamined = 500
        let full = machine.ticked(report, took: .milliseconds(20), now: Self.t0 + .milliseconds(20))
        #expect(full == [.sleep(until: Self.t0 + .milliseconds(20))])
        let again = machine.passStarted(fence: fence, now: Self.t0 + .milliseconds(20))
        #expect(again == [.tick(fence, now: Self.t0 + .milliseconds(20), lookahead: .seconds(1), limit: 500)])
    }

    // MARK: A leader that has fallen behind

    /// Seven seconds of backlog (6,000 due tickets), one executor with 16 slots that answers every offer with CREDIT
    /// 2 ms later but whose claims take 100 ms to land (its database is busy): the head of the queue is then full of
    /// offers in flight. A read from the head (every poll interval) used up its page on them and left the credit idle,
    /// and no CREDIT came to end the sleep, since nothing had been sent: the leader sent nothing for a whole poll
    /// interval, every other poll interval. The backlog must drain with no such stall.
    @Test func aLeaderThatFellBehindCatchesUpAtFullSpeed() {
        var machine = Self.machine()
        _ = machine.hello(a, hello("exec-a", capacity: 16), now: Self.t0)
        _ = machine.credit(a, 16, now: Self.t0)
        prove(&machine, a, ticket: 1, at: Self.t0)
        _ = machine.credit(a, 16, now: Self.t0)
        let late = Self.t0 - .seconds(7)
        var queue = (10..<6010).map { Self.due($0, at: late + .milliseconds(Int64($0))) }
        var claims: [(at: Timestamp, id: TicketID)] = []
        var now = Self.t0 + .milliseconds(10)
        var stalls: [Timestamp] = []
        var everSent = Set<TicketID>()
        var passes = 0
        while !queue.isEmpty && passes < 20_000 && now < Self.t0 + .seconds(5) {
            passes += 1
            let landed = Set(claims.filter { $0.at <= now }.map(\.id))
            claims.removeAll { $0.at <= now }
            queue.removeAll { landed.contains($0.id) }
            var actions = machine.passStarted(fence: fence, now: now)
            if case .tick = actions.last { actions = machine.ticked(TickReport(), took: .milliseconds(1), now: now) }
            var sent: [TicketID] = []
            if case .readDue(let by, let after, let limit) = actions.last {
                let page = queue.lazy.filter { ticket in ticket.notBefore <= by && (after.map { ticket.position > $0 } ?? true) }.prefix(limit)
                actions = machine.dueRead(Array(page), now: now)
                sent = Self.sends(actions).flatMap(\.notices).map(\.id)
            }
            guard let wake = Self.finishPass(&machine, actions, now: now) else { return }
            claims += sent.map { (now + .milliseconds(100), $0) }
            everSent.formUnion(sent)
            let hasUnsent = queue.contains { !everSent.contains($0.id) }
            if sent.isEmpty && wake - now >= .milliseconds(100) && hasUnsent { stalls.append(now) }
            if sent.isEmpty {
                now = max(now + .milliseconds(1), min(wake, claims.first?.at ?? wake))
            } else {
                // The executor takes the offers into its backlog and announces its free slots again (CREDIT rings).
                now = now + .milliseconds(2)
                _ = machine.credit(a, 16, now: now)
            }
        }
        #expect(queue.isEmpty, "\(queue.count) tickets left after \(passes) passes")
        #expect(stalls.isEmpty, "passes that left credit idle for a poll interval with tickets waiting: \(stalls.map { $0 - Self.t0 })")
        // 6,000 tickets at 16 per 2 ms take 750 ms, claims land 100 ms after the last send, and each head read walks
        // past the ~800 offers in flight in pages of 48; a stall of 250 ms at each rescan would take it past 1.5 s.
        #expect(now < Self.t0 + .milliseconds(1_200), "drained at \(now - Self.t0)")
    }
}
