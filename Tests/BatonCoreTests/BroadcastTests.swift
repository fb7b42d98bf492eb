import BatonCore
import Testing

@Suite("Broadcast: values in order to any number of waiters")
struct BroadcastTests {
    @Test func aWaiterGetsTheNextValueAfterThoseItHasSeenEvenIfPublishedBeforeItWaited() async {
        let broadcast = Broadcast<Int>()
        broadcast.publish(1)
        #expect(await broadcast.next(after: 0) == 1)
        async let second = broadcast.next(after: 1)
        async let alsoSecond = broadcast.next(after: 1)
        broadcast.publish(2)
        #expect(await second == 2)
        #expect(await alsoSecond == 2)
        #expect(broadcast.values == [1, 2])
    }

    @Test func onlyFirstMakesAOneShot() async {
        let broadcast = Broadcast<String>()
        #expect(broadcast.publish("exit 0", onlyFirst: true))
        #expect(!broadcast.publish("exit 1", onlyFirst: true))
        #expect(broadcast.values == ["exit 0"])
        #expect(await broadcast.next(after: 0) == "exit 0")
    }

    @Test func aCancelledWaiterGetsNil() async {
        let broadcast = Broadcast<Int>()
        let waiter = Task { await broadcast.next(after: 0) }
        waiter.cancel()
        #expect(await waiter.value == nil)
        broadcast.publish(7)
        #expect(await broadcast.next(after: 0) == 7)
    }
}
