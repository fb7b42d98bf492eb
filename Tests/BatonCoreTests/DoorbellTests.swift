import BatonCore
import Testing

@Suite("Doorbell")
struct DoorbellTests {
    @Test func aRingWakesAWaiterLongBeforeItsTimeout() async {
        let bell = Doorbell()
        let clock = ContinuousClock()
        let started = clock.now
        async let waited: Void = bell.wait(timeout: .seconds(30))
        bell.ring()
        await waited
        #expect(clock.now - started < .seconds(10))
    }

    @Test func aRingWithNobodyWaitingIsRememberedOnce() async {
        let bell = Doorbell()
        bell.ring()
        bell.ring()
        let clock = ContinuousClock()
        let started = clock.now
        await bell.wait(timeout: .seconds(30))  // returns at once: the ring was remembered
        #expect(clock.now - started < .seconds(10))
        let second = clock.now
        await bell.wait(timeout: .milliseconds(50))  // the two rings counted as one: this one times out
        #expect(clock.now - second >= .milliseconds(50))
    }

    /// A timed-out wait's timer must not end, or count as a ring for, the wait after it.
    @Test func aTimeoutIsNotARingForTheNextWait() async {
        let bell = Doorbell()
        await bell.wait(timeout: .milliseconds(1))
        let clock = ContinuousClock()
        let started = clock.now
        await bell.wait(timeout: .milliseconds(100))
        #expect(clock.now - started >= .milliseconds(100))
    }

    @Test func cancellingTheWaiterEndsAnUntimedWait() async {
        let bell = Doorbell()
        let waiter = Task { await bell.wait() }
        waiter.cancel()
        await waiter.value  // returns: without the cancellation handler this would wait for a ring forever
        let clock = ContinuousClock()
        let started = clock.now
        await bell.wait(timeout: .milliseconds(50))  // the cancellation was not remembered as a ring
        #expect(clock.now - started >= .milliseconds(50))
    }

    /// A ring from another task racing each wait, thousands of times: every wait ends (a lost wake-up would hang
    /// here until the time limit), whether the ring lands before the wait, while it registers, or after.
    @Test(.timeLimit(.minutes(1)))
    func aRingRacingTheWaitIsNeverLost() async {
        let bell = Doorbell()
        for _ in 0..<2_000 {
            let ringer = Task.detached { bell.ring() }
            await bell.wait()
            await ringer.value
        }
    }
}
