import Foundation
import Synchronization

/// The UTC offsets of one IANA zone as a table of transitions, read from Foundation once
/// per stretch of time and then shared by every schedule in that zone.
///
/// `TimeZone` answers each question through ICU, and finding a transition costs tens of
/// microseconds; a scheduler recomputing next fires for many jobs cannot pay that per call.
/// Transitions are sparse (at most a few a year), so the table is small. It is filled in
/// chunks of 2^26 seconds (about two years) on first use, so any instant works without
/// precomputing a fixed range of years.
final class ZoneOffsets: Sendable {
    /// The stretch of instants around a given one that share a UTC offset, with the offsets
    /// on either side: that is all a gap or fold decision needs.
    struct Segment: Sendable, Equatable {
        /// The transition that began this offset; only exact when it lies within a chunk
        /// (about two years) of the instant asked about, which is as far back as a gap or
        /// fold can reach (a day at most).
        var start: Int64
        /// The next transition, or `ZoneOffsets.never` when the zone has no more.
        var end: Int64
        var offset: Int64
        /// The offset in force just before `start`.
        var previousOffset: Int64
        /// The offset in force from `end`.
        var nextOffset: Int64
    }

    /// Stands for "no further transition"; far enough to never be reached, small enough
    /// that adding an offset cannot overflow.
    static let never = Int64.max / 4

    private struct Transition: Sendable {
        var at: Int64
        var offsetBefore: Int64
        var offsetAfter: Int64
    }

    private struct Chunk: Sendable {
        var start: Int64
        var initialOffset: Int64
        /// Transitions within the chunk, in order.
        var transitions: [Transition]
        /// The first transition at or after the chunk's end, however far; nil if the zone has none.
        var following: Transition?
    }

    let identifier: String
    private let timeZone: TimeZone
    private let chunks = Mutex<[Int64: Chunk]>([:])

    private static let chunkShift: Int64 = 26
    /// ICU's rules are only meaningful within some thousands of years; beyond about ±34,000
    /// years the zone is treated as a fixed offset, so absurd inputs cost nothing and never fail.
    private static let supportedSeconds: Int64 = 1 << 40
    /// Enough for centuries of lookups; a caller probing random far dates cannot grow it without bound.
    private static let maximumChunks = 512

    private static let registry = Mutex<[String: ZoneOffsets]>([:])

    /// The shared table for an identifier `TimeZone` knows, or nil.
    static func named(_ identifier: String) -> ZoneOffsets? {
        if let known = registry.withLock({ $0[identifier] }) { return known }
        guard let timeZone = TimeZone(identifier: identifier) else { return nil }
        let created = ZoneOffsets(identifier: identifier, timeZone: timeZone)
        return registry.withLock { zones in
            if let known = zones[identifier] { return known }
            zones[identifier] = created
            return created
        }
    }

    private init(identifier: String, timeZone: TimeZone) {
        self.identifier = identifier
        self.timeZone = timeZone
    }

    /// The segment holding `instant` (UTC seconds).
    func segment(containing instant: Int64) -> Segment {
        let index = instant >> ZoneOffsets.chunkShift
        let chunk = chunk(index: index)
        var previous: Transition?
        var next = chunk.following
        for transition in chunk.transitions {
            if transition.at <= instant {
                previous = transition
            } else {
                next = transition
                break
            }
        }
        if previous == nil {
            previous = self.chunk(index: index - 1).transitions.last
        }
        let offset = previous.map { $0.offsetAfter } ?? chunk.initialOffset
        return Segment(
            start: previous?.at ?? chunk.start,
            end: next?.at ?? ZoneOffsets.never,
            offset: offset,
            previousOffset: previous?.offsetBefore ?? offset,
            nextOffset: next?.offsetAfter ?? offset)
    }

    private func chunk(index: Int64) -> Chunk {
        if let cached = chunks.withLock({ $0[index] }) { return cached }
        // Built outside the lock: Foundation is slow and other readers should not wait on it.
        let built = buildChunk(index: index)
        chunks.withLock { table in
            if table.count >= ZoneOffsets.maximumChunks { table.removeAll(keepingCapacity: true) }
            table[index] = built
        }
        return built
    }

    private func buildChunk(index: Int64) -> Chunk {
        let start = index << ZoneOffsets.chunkShift
        let end = (index + 1) << ZoneOffsets.chunkShift
        let limit = ZoneOffsets.supportedSeconds
        guard start >= -limit, end <= limit else {
            return Chunk(start: start, initialOffset: offset(at: min(max(start, -limit), limit)), transitions: [])
        }
        var chunk = Chunk(start: start, initialOffset: offset(at: start - 1), transitions: [])
        var before = chunk.initialOffset
        // Half a second early so a transition exactly at `start` is found by the strictly-after query.
        var cursor = Date(timeIntervalSince1970: Double(start) - 0.5)
        while chunk.transitions.count < 64, let next = timeZone.nextDaylightSavingTimeTransition(after: cursor),
            next > cursor
        {
            let at = Int64(next.timeIntervalSince1970.rounded())
            let transition = Transition(at: at, offsetBefore: before, offsetAfter: offset(at: at))
            guard at < end else {
                chunk.following = transition
                break
            }
            chunk.transitions.append(transition)
            before = transition.offsetAfter
            cursor = next
        }
        return chunk
    }

    private func offset(at instant: Int64) -> Int64 {
        Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant))))
    }
}
