import BatonCore
import BatonStore
import Executor
import Testing

@Suite("Claim state machine")
struct ClaimStateMachineTests {
    typealias Action = ClaimStateMachine.Action

    static let t0 = Timestamp(milliseconds: 1_790_000_000_000)
    static let ttl = TimeSpan.seconds(30)
    static let retry = RetryPolicy(maxAttempts: 3)

    static func id(_ n: UInt8) -> TicketID {
        TicketID(bytes: [UInt8](repeating: 0, count: 31) + [n])!
    }

    static func claim(_ n: UInt8, at now: Timestamp = t0, token: ClaimToken? = nil) -> ClaimedTicket {
        ClaimedTicket(
            id: id(n), jobID: JobID(rawValue: "job"), jobName: "job", revision: 1, slot: now, manual: false, attempt: 1,
            maxAttempts: 3, token: token ?? ClaimToken(bytes: [n, 1, 2, 3]), leaseExpiresAt: now + ttl,
            spec: JobSpec(
                name: "job", schedule: ScheduleSpec(.every(.seconds(1))), action: .noop, policy: JobPolicy(retry: retry)))
    }

    /// A machine holding running claims 1...n, started at t0.
    static func running(_ n: UInt8, capacity: Int = 4) -> ClaimStateMachine {
        var machine = ClaimStateMachine(capacity: capacity, claimTTL: ttl)
        let ids = (1...n).map { id($0) }
        _ = machine.ticketsOffered(ids)
        _ = machine.claimSucceeded(requested: ids, won: (1...n).map { claim($0) }, now: t0)
        return machine
    }

    @Test func offersAreClaimedUpToFreeCapacityAndCreditIsAbsolute() {
        var machine = ClaimStateMachine(capacity: 3, claimTTL: Self.ttl)
        #expect(machine.credit == 3)
        let offered = (1...5).map { Self.id($0) }
        #expect(machine.ticketsOffered(offered) == [.sendCredit(0), .claim(Array(offered.prefix(3)))])
        #expect(machine.counters.offersIgnored == 2)
        #expect(machine.inFlight == 3)
        // Nothing free: another offer is ignored without a claim.
        #expect(machine.ticketsOffered([Self.id(9)]) == [])
        // Two of three won: the lost one frees its slot at once.
        let won = [Self.claim(1), Self.claim(2)]
        #expect(machine.claimSucceeded(requested: Array(offered.prefix(3)), won: won, now: Self.t0) == [.start(won), .sendCredit(1)])
        #expect(machine.counters.claimsLost == 1)
        #expect(machine.credit == 1)
    }

    @Test func offersBeyondFreeSlotsWaitInTheBacklogAndAreClaimedAsSlotsFree() {
        var machine = ClaimStateMachine(capacity: 2, claimTTL: Self.ttl, offerBacklog: 2)
        let offered = (1...5).map { Self.id($0) }
        #expect(machine.ticketsOffered(offered) == [.sendCredit(0), .claim(Array(offered.prefix(2)))])
        #expect(machine.deferred == [Self.id(3), Self.id(4)])
        #expect(machine.counters.offersDeferred == 2)
        #expect(machine.counters.offersIgnored == 1)
        // A backlogged ticket offered again is a duplicate, not a second entry.
        #expect(machine.ticketsOffered([Self.id(3)]) == [])
        #expect(machine.counters.duplicateOffers == 1)
        // One of two won: the lost claim's slot goes to the oldest backlogged offer; credit stays 0.
        let won = [Self.claim(1)]
        #expect(machine.claimSucceeded(requested: Array(offered.prefix(2)), won: won, now: Self.t0) == [.start(won), .claim([Self.id(3)])])
        #expect(machine.credit == 0)
        // An attempt ends: its slot takes the next backlogged offer.
        let finished = machine.actionFinished(Self.id(1), result: ActionResult(outcome: .succeeded), now: Self.t0)
        #expect(finished.contains(.claim([Self.id(4)])))
        #expect(machine.deferred.isEmpty)
    }

    @Test func shutdownDropsTheBacklog() {
        var machine = ClaimStateMachine(capacity: 1, claimTTL: Self.ttl, offerBacklog: 4)
        _ = machine.ticketsOffered([Self.id(1), Self.id(2), Self.id(3)])
        #expect(machine.deferred.count == 2)
        _ = machine.shutdown(now: Self.t0, grace: .seconds(10))
        #expect(machine.deferred.isEmpty)
        #expect(machine.claimFailed(requested: [Self.id(1)]) == [.finish])
    }

    @Test func duplicateOffersAreNotClaimedTwice() {
        var machine = Self.running(1)
        #expect(machine.ticketsOffered([Self.id(1), Self.id(2), Self.id(2)]) == [.sendCredit(2), .claim([Self.id(2)])])
        #expect(machine.counters.duplicateOffers == 2)
    }

    @Test func aFailedClaimCallReleasesItsSlots() {
        var machine = ClaimStateMachine(capacity: 2, claimTTL: Self.ttl)
        _ = machine.ticketsOffered([Self.id(1), Self.id(2)])
        #expect(machine.credit == 0)
        #expect(machine.claimFailed(requested: [Self.id(1), Self.id(2)]) == [.sendCredit(2)])
    }

    @Test func leasesAreRenewedInOneBatchEveryThirdOfTheTTL() {
        var machine = Self.running(2)
        #expect(machine.tick(now: Self.t0 + .seconds(9)) == [])
        let due = Self.t0 + .seconds(10)
        #expect(machine.nextDeadline == due)
        let tokens = [Self.id(1): Self.claim(1).token, Self.id(2): Self.claim(2).token]
        #expect(machine.tick(now: due) == [.renew(tokens)])
        // Only one renewal in flight at a time.
        #expect(machine.tick(now: due + .seconds(1)) == [])
        let results: [TicketID: HeartbeatResult] = [
            Self.id(1): .extended(until: due + Self.ttl, cancelRequested: false),
            Self.id(2): .extended(until: due + Self.ttl, cancelRequested: false),
        ]
        #expect(machine.heartbeatSucceeded(results, renewed: tokens, now: due) == [])
        #expect(machine.running[Self.id(1)]?.leaseExpiresAt == due + Self.ttl)
        #expect(machine.nextDeadline == due + .seconds(10))
    }

    @Test func aLostClaimStopsTheActionAndReportsNothing() {
        var machine = Self.running(1)
        let tokens = [Self.id(1): Self.claim(1).token]
        _ = machine.tick(now: Self.t0 + .seconds(10))
        #expect(machine.heartbeatSucceeded([Self.id(1): .lost], renewed: tokens, now: Self.t0 + .seconds(10)) == [.stop(Self.id(1), .fenced)])
        #expect(machine.counters.fenced == 1)
        let actions = machine.actionFinished(Self.id(1), result: ActionResult(outcome: .cancelled), now: Self.t0 + .seconds(11))
        #expect(actions == [.discard(Self.id(1), .fenced), .sendCredit(4)])
        #expect(machine.unreported == 0)
    }

    @Test func aResultForAnOlderClaimOfTheSameTicketIsIgnored() {
        var machine = Self.running(1)
        let stale = [Self.id(1): ClaimToken(bytes: [9, 9])]
        #expect(machine.heartbeatSucceeded([Self.id(1): .lost], renewed: stale, now: Self.t0) == [])
        #expect(machine.running[Self.id(1)]?.stopping == nil)
    }

    @Test func unrenewableLeasesStopBeforeTheyExpire() {
        var machine = Self.running(1)
        _ = machine.tick(now: Self.t0 + .seconds(10))
        #expect(machine.heartbeatFailed(now: Self.t0 + .seconds(10)) == [])
        // Retried soon after a failure.
        #expect(machine.tick(now: Self.t0 + .seconds(11)) == [.renew([Self.id(1): Self.claim(1).token])])
        _ = machine.heartbeatFailed(now: Self.t0 + .seconds(11))
        // The lease (t0 + 30 s) minus the margin (3 s) passes with no renewal: stop, report nothing.
        let late = Self.t0 + .seconds(27)
        let actions = machine.tick(now: late)
        #expect(actions.first == .stop(Self.id(1), .leaseUnrenewable))
        #expect(machine.counters.leasesUnrenewable == 1)
        #expect(
            machine.actionFinished(Self.id(1), result: ActionResult(outcome: .succeeded), now: late)
                == [.discard(Self.id(1), .leaseUnrenewable), .sendCredit(4)])
    }

    @Test func aCancelMessageIsCheckedAgainstTheDatabaseBeforeStopping() {
        var machine = Self.running(1)
        let tokens = [Self.id(1): Self.claim(1).token]
        #expect(machine.cancelRequested(Self.id(1), now: Self.t0) == [.renew(tokens)])
        #expect(machine.cancelRequested(Self.id(7), now: Self.t0) == [])
        // A forged CANCEL: the flag is not set, the action keeps running.
        let notCancelled: [TicketID: HeartbeatResult] = [Self.id(1): .extended(until: Self.t0 + Self.ttl, cancelRequested: false)]
        #expect(machine.heartbeatSucceeded(notCancelled, renewed: tokens, now: Self.t0) == [])
        // A real one.
        #expect(machine.cancelRequested(Self.id(1), now: Self.t0) == [.renew(tokens)])
        let cancelled: [TicketID: HeartbeatResult] = [Self.id(1): .extended(until: Self.t0 + Self.ttl, cancelRequested: true)]
        #expect(machine.heartbeatSucceeded(cancelled, renewed: tokens, now: Self.t0) == [.stop(Self.id(1), .cancelRequested)])
        // Once stopping, further cancels do nothing.
        #expect(machine.cancelRequested(Self.id(1), now: Self.t0) == [])
        let result = ActionResult(outcome: .cancelled, status: 143, output: "bye")
        let completion = Completion(
            id: Self.id(1), token: Self.claim(1).token, outcome: .cancelled, status: 143, output: "bye", retry: Self.retry)
        #expect(machine.actionFinished(Self.id(1), result: result, now: Self.t0) == [.complete([completion]), .sendCredit(4)])
        #expect(machine.unreported == 1)
    }

    @Test func aCancelDuringARenewalIsRenewedAtTheNextTick() {
        var machine = Self.running(1)
        let tokens = [Self.id(1): Self.claim(1).token]
        #expect(machine.tick(now: Self.t0 + .seconds(10)) == [.renew(tokens)])
        #expect(machine.cancelRequested(Self.id(1), now: Self.t0 + .seconds(10)) == [])
        let results: [TicketID: HeartbeatResult] = [Self.id(1): .extended(until: Self.t0 + .seconds(40), cancelRequested: false)]
        #expect(machine.heartbeatSucceeded(results, renewed: tokens, now: Self.t0 + .seconds(10)) == [])
        #expect(machine.nextDeadline == Self.t0 + .seconds(10))
        #expect(machine.tick(now: Self.t0 + .seconds(10)) == [.renew(tokens)])
    }

    @Test func theHeartbeatCancelFlagStopsTheAction() {
        var machine = Self.running(1)
        let tokens = [Self.id(1): Self.claim(1).token]
        _ = machine.tick(now: Self.t0 + .seconds(10))
        let results: [TicketID: HeartbeatResult] = [Self.id(1): .extended(until: Self.t0 + .seconds(40), cancelRequested: true)]
        #expect(machine.heartbeatSucceeded(results, renewed: tokens, now: Self.t0 + .seconds(10)) == [.stop(Self.id(1), .cancelRequested)])
    }

    @Test func aFenceOverridesAPoliteCancel() {
        var machine = Self.running(1)
        let tokens = [Self.id(1): Self.claim(1).token]
        _ = machine.tick(now: Self.t0 + .seconds(10))
        let cancelled: [TicketID: HeartbeatResult] = [Self.id(1): .extended(until: Self.t0 + .seconds(40), cancelRequested: true)]
        #expect(machine.heartbeatSucceeded(cancelled, renewed: tokens, now: Self.t0 + .seconds(10)) == [.stop(Self.id(1), .cancelRequested)])
        _ = machine.tick(now: Self.t0 + .seconds(20))
        #expect(machine.heartbeatSucceeded([Self.id(1): .lost], renewed: tokens, now: Self.t0 + .seconds(10)) == [.stop(Self.id(1), .fenced)])
    }

    @Test func finishedActionsAreReportedWithTheirOutcomeAndRetryPolicy() {
        var machine = Self.running(2)
        let result = ActionResult(outcome: .failed, status: 500, output: "oops")
        let actions = machine.actionFinished(Self.id(2), result: result, now: Self.t0)
        #expect(
            actions == [
                .complete([
                    Completion(id: Self.id(2), token: Self.claim(2).token, outcome: .failed, status: 500, output: "oops", retry: Self.retry)
                ]), .sendCredit(3),
            ])
        #expect(machine.completionsWritten(1) == [])
        #expect(machine.actionFinished(Self.id(2), result: result, now: Self.t0) == [])
    }

    @Test func shutdownStopsCreditWaitsForTheGraceThenHandsBack() {
        var machine = Self.running(2)
        #expect(machine.shutdown(now: Self.t0, grace: .seconds(10)) == [.sendCredit(0)])
        #expect(machine.ticketsOffered([Self.id(5)]) == [])
        // Ticket 1 finishes within the grace and is reported normally.
        #expect(
            machine.actionFinished(Self.id(1), result: ActionResult(outcome: .succeeded), now: Self.t0 + .seconds(1))
                == [.complete([Completion(id: Self.id(1), token: Self.claim(1).token, outcome: .succeeded, retry: Self.retry)])])
        #expect(machine.nextDeadline == Self.t0 + .seconds(10))
        // Ticket 2 outlives the grace: stopped and handed back.
        let actions = machine.tick(now: Self.t0 + .seconds(10))
        #expect(actions.first == .stop(Self.id(2), .handBack))
        #expect(
            machine.actionFinished(Self.id(2), result: ActionResult(outcome: .cancelled), now: Self.t0 + .seconds(10))
                == [.complete([Completion(id: Self.id(2), token: Self.claim(2).token, outcome: .handedBack, retry: Self.retry)])])
        #expect(machine.completionsWritten(1) == [])
        #expect(machine.completionsWritten(1) == [.finish])
        #expect(machine.mode == .finished)
    }

    @Test func anActionThatEndsOnItsOwnDuringHandBackKeepsItsOutcome() {
        var machine = Self.running(1)
        _ = machine.shutdown(now: Self.t0, grace: .zero)
        #expect(machine.running[Self.id(1)]?.stopping == .handBack)
        let actions = machine.actionFinished(Self.id(1), result: ActionResult(outcome: .succeeded, status: 0), now: Self.t0)
        #expect(actions == [.complete([Completion(id: Self.id(1), token: Self.claim(1).token, outcome: .succeeded, status: 0, retry: Self.retry)])])
    }

    @Test func claimsWonWhileShuttingDownAreHandedBackAtOnce() {
        var machine = ClaimStateMachine(capacity: 2, claimTTL: Self.ttl)
        _ = machine.ticketsOffered([Self.id(1)])
        #expect(machine.shutdown(now: Self.t0, grace: .seconds(10)) == [.sendCredit(0)])
        let actions = machine.claimSucceeded(requested: [Self.id(1)], won: [Self.claim(1)], now: Self.t0)
        #expect(actions == [.complete([Completion(id: Self.id(1), token: Self.claim(1).token, outcome: .handedBack, retry: Self.retry)])])
        #expect(machine.completionsWritten(1) == [.finish])
    }

    @Test func anIdleExecutorFinishesAtOnceOnShutdown() {
        var machine = ClaimStateMachine(capacity: 2, claimTTL: Self.ttl)
        #expect(machine.shutdown(now: Self.t0, grace: .seconds(10)) == [.sendCredit(0), .finish])
        #expect(machine.shutdown(now: Self.t0, grace: .seconds(10)) == [])
    }
}
