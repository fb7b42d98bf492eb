import BatonCore
import Testing

/// A monotonic instant under test control.
struct TestInstant: InstantProtocol {
    var offset: Duration
    func advanced(by duration: Duration) -> TestInstant { TestInstant(offset: offset + duration) }
    func duration(to other: TestInstant) -> Duration { other.offset - offset }
    static func < (lhs: TestInstant, rhs: TestInstant) -> Bool { lhs.offset < rhs.offset }
    static func seconds(_ s: Double) -> TestInstant { TestInstant(offset: .milliseconds(Int64(s * 1000))) }
}

@Suite("Leader election")
struct LeaderElectionTests {
    func machine() -> LeaderElection<TestInstant> {
        LeaderElection(holderID: "me", ttl: .seconds(10))
    }

    @Test func winningAnAttemptMakesALeaderWithATrustWindowFromTheAttemptStart() {
        var m = machine()
        #expect(m.attemptCompleted(holder: "other", epoch: 3, startedAt: .seconds(0)) == .none)
        #expect(!m.isLeader)
        #expect(m.attemptCompleted(holder: "me", epoch: 4, startedAt: .seconds(1)) == .becameLeader(epoch: 4))
        #expect(m.role == .leader(epoch: 4, trustedUntil: .seconds(9)))  // 1 + 10 − 2
        #expect(m.epoch == 4)
    }

    @Test func aSlowRenewalDoesNotExtendTrustBeyondItsStart() {
        var m = machine()
        _ = m.attemptCompleted(holder: "me", epoch: 1, startedAt: .seconds(0))
        // The renewal started at 2 s and answered at 7 s: trust runs to 2 + 8 = 10 s, not 15 s.
        #expect(m.attemptCompleted(holder: "me", epoch: 1, startedAt: .seconds(2)) == .none)
        #expect(m.role == .leader(epoch: 1, trustedUntil: .seconds(10)))
    }

    @Test func failedRenewalsStepDownWhenTheTrustWindowCloses() {
        var m = machine()
        _ = m.attemptCompleted(holder: "me", epoch: 1, startedAt: .seconds(0))
        #expect(m.attemptFailed(now: .seconds(5)) == .none)
        #expect(m.isLeader)
        #expect(m.attemptFailed(now: .seconds(7.999)) == .none)
        #expect(m.attemptFailed(now: .seconds(8)) == .steppedDown(.trustExpired))
        #expect(!m.isLeader)
    }

    @Test func checkingBetweenAttemptsAlsoEndsLeadership() {
        var m = machine()
        _ = m.attemptCompleted(holder: "me", epoch: 1, startedAt: .seconds(0))
        #expect(m.check(now: .seconds(9)) == .steppedDown(.trustExpired))
    }

    @Test func losingTheLeaseToAnotherHolderOrEpochStepsDownAtOnce() {
        var m = machine()
        _ = m.attemptCompleted(holder: "me", epoch: 1, startedAt: .seconds(0))
        #expect(m.attemptCompleted(holder: "other", epoch: 2, startedAt: .seconds(2)) == .steppedDown(.lostLease))
        var n = machine()
        _ = n.attemptCompleted(holder: "me", epoch: 1, startedAt: .seconds(0))
        // Same holder id but a newer epoch: this term was replaced.
        #expect(n.attemptCompleted(holder: "me", epoch: 5, startedAt: .seconds(2)) == .steppedDown(.lostLease))
    }

    @Test func shutdownReleasesOnlyWhenLeading() {
        var m = machine()
        #expect(m.shutdown() == .none)
        _ = m.attemptCompleted(holder: "me", epoch: 7, startedAt: .seconds(0))
        #expect(m.shutdown() == .release(epoch: 7))
        #expect(!m.isLeader)
    }

    @Test func followersRetryJustAfterTheLeaseExpires() {
        var m = machine()
        #expect(m.delayBeforeNextAttempt(leaseExpiresIn: .milliseconds(300)) == .milliseconds(305))
        #expect(m.delayBeforeNextAttempt(leaseExpiresIn: .seconds(9)) == .seconds(1))
        #expect(m.delayBeforeNextAttempt(leaseExpiresIn: nil) == .seconds(1))
        _ = m.attemptCompleted(holder: "me", epoch: 1, startedAt: .seconds(0))
        #expect(m.delayBeforeNextAttempt(leaseExpiresIn: .milliseconds(300)) == .seconds(2))
    }

    @Test func aLeaderRenewsEveryFifthOfTheTTLAndWakesEarlyOnlyToStepDown() {
        var m = machine()  // TTL 10 s
        _ = m.attemptCompleted(holder: "me", epoch: 1, startedAt: .seconds(0))
        let renewal = TestInstant.seconds(0).advanced(by: m.delayBeforeNextAttempt(leaseExpiresIn: .seconds(10)))
        #expect(renewal == .seconds(2))
        #expect(m.nextWake(nextAttemptAt: renewal) == .seconds(2))
        // Renewals keep failing: an attempt due after the trust window closes (8 s) waits, the step-down does not.
        #expect(m.nextWake(nextAttemptAt: .seconds(9)) == .seconds(8))
        #expect(m.check(now: .seconds(8)) == .steppedDown(.trustExpired))
        // A follower has no trust window: it wakes for its attempt.
        #expect(m.nextWake(nextAttemptAt: .seconds(9)) == .seconds(9))
    }
}
