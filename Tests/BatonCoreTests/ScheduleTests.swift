import BatonCore
import Testing

@Suite("Interval and one-off schedules")
struct ScheduleTests {
    let created = Timestamp(milliseconds: 1_000_000)

    @Test func everyFiresOneIntervalAfterCreationThenEachInterval() throws {
        let schedule = try Schedule(ScheduleSpec(.every(.seconds(10))), createdAt: created)
        #expect(schedule.slots(after: created, count: 3).map(\.milliseconds) == [1_010_000, 1_020_000, 1_030_000])
        // Strictly after: asking from a slot gives the next one.
        #expect(schedule.nextSlot(after: Timestamp(milliseconds: 1_020_000))?.milliseconds == 1_030_000)
        #expect(schedule.nextSlot(after: Timestamp(milliseconds: 1_020_001))?.milliseconds == 1_030_000)
    }

    @Test func everyWithAnAnchorInThePastStaysOnTheAnchorGrid() throws {
        let schedule = try Schedule(ScheduleSpec(.every(.minutes(1)), anchor: Timestamp(milliseconds: 7_000)), createdAt: created)
        #expect(schedule.nextSlot(after: created)?.milliseconds == 1_027_000)
        // An "after" before the anchor, exactly on the grid: the next grid point, never the same instant.
        #expect(schedule.nextSlot(after: Timestamp(milliseconds: -53_000))?.milliseconds == 7_000)
        #expect(schedule.nextSlot(after: Timestamp(milliseconds: -113_000))?.milliseconds == -53_000)
    }

    @Test func oneOffFiresOnce() throws {
        let at = Timestamp(milliseconds: 5_000_000)
        let schedule = try Schedule(ScheduleSpec(.at(at)), createdAt: created)
        #expect(schedule.nextSlot(after: created) == at)
        #expect(schedule.nextSlot(after: at) == nil)
    }

    @Test func startAndEndBoundTheSlots() throws {
        let spec = ScheduleSpec(
            .every(.seconds(10)), startAt: Timestamp(milliseconds: 1_025_000), endAt: Timestamp(milliseconds: 1_050_000))
        let schedule = try Schedule(spec, createdAt: created)
        #expect(schedule.slots(after: created, count: 10).map(\.milliseconds) == [1_030_000, 1_040_000, 1_050_000])
    }

    @Test func startAtOnTheGridIsItselfASlot() throws {
        let spec = ScheduleSpec(.every(.seconds(10)), startAt: Timestamp(milliseconds: 1_030_000))
        let schedule = try Schedule(spec, createdAt: created)
        #expect(schedule.nextSlot(after: created)?.milliseconds == 1_030_000)
    }
}

@Suite("Retries and attempt outcomes")
struct AttemptResolutionTests {
    let now = Timestamp(milliseconds: 1_000_000)
    let retry = RetryPolicy(maxAttempts: 4, initialDelay: .seconds(10), maxDelay: .seconds(25), multiplier: 2)

    @Test func backoffIsExponentialAndCapped() {
        #expect(retry.delay(beforeAttempt: 1) == .zero)
        #expect(retry.delay(beforeAttempt: 2) == .seconds(10))
        #expect(retry.delay(beforeAttempt: 3) == .seconds(20))
        #expect(retry.delay(beforeAttempt: 4) == .seconds(25))
        #expect(retry.delay(beforeAttempt: 60) == .seconds(25))
    }

    @Test func failureWithAttemptsLeftRetriesAfterBackoff() {
        let r = AttemptResolution.after(outcome: .failed, attempt: 2, retry: retry, now: now)
        #expect(r == AttemptResolution(state: .retrying, notBefore: now + .seconds(20), reason: .actionFailed))
    }

    @Test func lastAttemptFails() {
        let r = AttemptResolution.after(outcome: .timedOut, attempt: 4, retry: retry, now: now)
        #expect(r == AttemptResolution(state: .failed, notBefore: nil, reason: .timeout))
    }

    @Test func expiredLeaseIsDueAtOnce() {
        let r = AttemptResolution.after(outcome: .leaseExpired, attempt: 1, retry: retry, now: now)
        #expect(r == AttemptResolution(state: .retrying, notBefore: now, reason: .leaseExpired))
    }

    @Test func successCancelAndHandBack() {
        #expect(AttemptResolution.after(outcome: .succeeded, attempt: 4, retry: retry, now: now).state == .succeeded)
        #expect(AttemptResolution.after(outcome: .cancelled, attempt: 1, retry: retry, now: now).state == .cancelled)
        #expect(AttemptResolution.after(outcome: .handedBack, attempt: 4, retry: retry, now: now) == AttemptResolution(state: .pending, notBefore: now, reason: .handedBack))
    }

    @Test func finalStates() {
        #expect(TicketState.allCases.filter(\.isFinal) == [.succeeded, .failed, .cancelled, .skipped])
        #expect(TicketState.allCases.filter(\.isClaimable) == [.pending, .retrying])
    }
}
