import BatonCore
import Testing

@Suite("A failure no retry can fix ends the ticket at once")
struct FinalReasonTests {
    static let now = Timestamp(milliseconds: 1_700_000_000_000)
    static let retry = RetryPolicy(maxAttempts: 5, initialDelay: .seconds(10), maxDelay: .minutes(10), multiplier: 2)

    @Test func commandsDisabledFailsOnTheFirstAttempt() {
        let resolution = AttemptResolution.after(
            outcome: .failed, attempt: 1, retry: Self.retry, now: Self.now, finalReason: .commandsDisabled)
        #expect(resolution == AttemptResolution(state: .failed, notBefore: nil, reason: .commandsDisabled))
    }

    @Test func withoutAFinalReasonTheSameFailureIsRetried() {
        let resolution = AttemptResolution.after(outcome: .failed, attempt: 1, retry: Self.retry, now: Self.now)
        #expect(resolution.state == .retrying)
        #expect(resolution.reason == .actionFailed)
    }

    @Test func aFinalReasonDoesNotTurnOtherOutcomesIntoFailures() {
        #expect(
            AttemptResolution.after(outcome: .succeeded, attempt: 1, retry: Self.retry, now: Self.now, finalReason: .commandsDisabled)
                .state == .succeeded)
        #expect(
            AttemptResolution.after(outcome: .cancelled, attempt: 1, retry: Self.retry, now: Self.now, finalReason: .commandsDisabled)
                .state == .cancelled)
    }
}

@Suite("A requested cancel decides how a running ticket ends")
struct RequestedCancelTests {
    static let now = FinalReasonTests.now
    static let retry = FinalReasonTests.retry

    @Test(arguments: [AttemptOutcome.failed, .timedOut, .handedBack, .leaseExpired, .cancelled])
    func anythingShortOfSuccessEndsTheTicketCancelled(_ outcome: AttemptOutcome) {
        let resolution = AttemptResolution.after(outcome: outcome, attempt: 1, retry: Self.retry, now: Self.now, cancelRequested: true)
        #expect(resolution == AttemptResolution(state: .cancelled, notBefore: nil, reason: .cancelled))
    }

    @Test func aSuccessThatRacedTheRequestStands() {
        let resolution = AttemptResolution.after(outcome: .succeeded, attempt: 1, retry: Self.retry, now: Self.now, cancelRequested: true)
        #expect(resolution.state == .succeeded)
    }

    @Test func withoutARequestAFailureIsRetried() {
        #expect(AttemptResolution.after(outcome: .failed, attempt: 1, retry: Self.retry, now: Self.now).state == .retrying)
    }
}
