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

    /// Many rings from other threads while one task waits in a loop: each wait ends, none hangs.
    @Test(.timeLimit(.minutes(1)))
    func ringsFromManyTasksNeverLeaveTheWaiterHanging() async {
        let bell = Doorbell()
        let rounds = 2_000
        let counter = Task {
            var woken = 0
            while woken < rounds {
                await bell.wait()
                woken += 1
            }
            return woken
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<rounds { bell.ring() }
                }
            }
        }
        // The rings above may have been remembered as one: keep ringing until the waiter has counted every round.
        let ringer = Task {
            while !Task.isCancelled {
                bell.ring()
                await Task.yield()
            }
        }
        #expect(await counter.value == rounds)
        ringer.cancel()
    }
}
