import BatonCore
import Testing

@Suite("BoundedCache")
struct BoundedCacheTests {
    @Test func loadsAMissOnceAndServesItAfterwards() {
        let cache = BoundedCache<String, Int>(limit: 10)
        var loads = 0
        let first = cache.value(for: "a") {
            loads += 1
            return 1
        }
        let second = cache.value(for: "a") {
            loads += 1
            return 2
        }
        #expect(first == 1 && second == 1)
        #expect(loads == 1)
    }

    @Test func aFailedLoadCachesNothing() {
        struct Unreadable: Error {}
        let cache = BoundedCache<String, Int>(limit: 10)
        #expect(throws: Unreadable.self) { try cache.value(for: "a") { () throws(Unreadable) -> Int in throw Unreadable() } }
        #expect(cache["a"] == nil)
    }

    @Test func neverHoldsMoreThanTwiceItsLimit() {
        let cache = BoundedCache<Int, Int>(limit: 100)
        for key in 0..<10_000 { cache.insert(key, for: key) }
        #expect(cache.count <= 200)
        #expect(cache[9_999] == 9_999)
        #expect(cache[0] == nil)
    }

    /// The hot entries survive a turnover: what was read during the last generation is moved into the new one.
    @Test func anEntryInUseSurvivesEveryTurnover() {
        let cache = BoundedCache<Int, Int>(limit: 100)
        cache.insert(-1, for: -1)
        for key in 0..<10_000 {
            cache.insert(key, for: key)
            #expect(cache[-1] == -1, "lost the hot entry after \(key) inserts")
        }
    }

    @Test func replacingAKeyInAFullGenerationDoesNotTurnItOver() {
        let cache = BoundedCache<Int, Int>(limit: 2)
        cache.insert(1, for: 1)
        cache.insert(2, for: 2)
        cache.insert(20, for: 2)
        cache.insert(30, for: 3)  // turns over: 1 and 2 move to the previous generation
        #expect(cache[1] == 1 && cache[2] == 20 && cache[3] == 30)
    }
}
