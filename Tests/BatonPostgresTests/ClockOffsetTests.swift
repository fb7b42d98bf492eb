import BatonCore
@testable import BatonPostgres
import Testing

@Suite("Database clock: the offset to the server's clock, from samples")
struct ClockOffsetTests {
    let t = Timestamp(milliseconds: 1_790_000_000_000)

    func sample(_ before: Int64, server: Int64, after: Int64) -> ClockSample {
        ClockSample(
            localBefore: t + .milliseconds(before), server: t + .milliseconds(server), localAfter: t + .milliseconds(after))
    }

    @Test func theSampleWithTheShortestRoundTripWinsAndItsMidpointIsTheEstimate() throws {
        // The server is 5 s ahead. The slow samples' midpoints are off by up to half their round trip.
        let samples = [
            sample(0, server: 5_030, after: 40),  // round trip 40 ms, midpoint 20: offset 5_010
            sample(100, server: 5_104, after: 106),  // round trip 6 ms, midpoint 103: offset 5_001
            sample(200, server: 5_290, after: 300),  // round trip 100 ms
        ]
        let estimate = try #require(ClockOffsetEstimate(samples))
        #expect(estimate.offset == .milliseconds(5_001))
        #expect(estimate.uncertainty == .milliseconds(3))
    }

    @Test func aClockBehindTheServerGetsANegativeOffset() throws {
        let estimate = try #require(ClockOffsetEstimate([sample(10_000, server: 3_001, after: 10_002)]))
        #expect(estimate.offset == .milliseconds(-7_000))
        #expect(estimate.uncertainty == .milliseconds(1))
    }

    @Test func samplesWhoseLocalClockSteppedBackAreIgnored() {
        #expect(ClockOffsetEstimate([sample(500, server: 400, after: 100)]) == nil)
        #expect(ClockOffsetEstimate([]) == nil)
        let estimate = ClockOffsetEstimate([sample(500, server: 400, after: 100), sample(0, server: 0, after: 0)])
        #expect(estimate == ClockOffsetEstimate(offset: .zero, uncertainty: .zero))
    }

    @Test func theDatabaseClockIsTheLocalClockPlusTheOffset() {
        struct Fixed: WallClock {
            let instant: Timestamp
            func now() -> Timestamp { instant }
        }
        let clock = DatabaseClock(local: Fixed(instant: t))
        #expect(clock.now() == t)
        clock.apply(ClockOffsetEstimate(offset: .seconds(-3), uncertainty: .milliseconds(1)))
        #expect(clock.now() == t - .seconds(3))
        #expect(clock.offset == .seconds(-3))
    }
}
