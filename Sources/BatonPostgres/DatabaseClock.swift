import BatonCore
import BatonStore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// One reading of the database server's clock between two readings of the local one.
public struct ClockSample: Sendable, Equatable {
    /// Local wall clock just before the query was sent, and just after its answer arrived.
    public var localBefore: Timestamp
    public var localAfter: Timestamp
    /// The server's `clock_timestamp()` while it ran the query.
    public var server: Timestamp

    public init(localBefore: Timestamp, server: Timestamp, localAfter: Timestamp) {
        self.localBefore = localBefore
        self.server = server
        self.localAfter = localAfter
    }

    public var roundTrip: TimeSpan { localAfter - localBefore }
}

/// The offset from this host's clock to the database server's, estimated from a few samples (Cristian's method):
/// the server read its clock somewhere inside the round trip, so the sample with the shortest round trip bounds the
/// error best, and its midpoint is the best guess.
public struct ClockOffsetEstimate: Sendable, Equatable {
    /// Add to a local reading to get the server's time.
    public var offset: TimeSpan
    /// The estimate is off by at most this (half the chosen sample's round trip), before drift.
    public var uncertainty: TimeSpan

    public init(offset: TimeSpan, uncertainty: TimeSpan) {
        self.offset = offset
        self.uncertainty = uncertainty
    }

    /// nil without a usable sample (none, or only ones whose local clock stepped backwards during the query).
    public init?(_ samples: [ClockSample]) {
        guard let best = samples.filter({ $0.localAfter >= $0.localBefore }).min(by: { $0.roundTrip < $1.roundTrip }) else {
            return nil
        }
        let half = best.roundTrip.milliseconds / 2
        let midpoint = best.localBefore.milliseconds + half
        self.init(offset: .milliseconds(best.server.milliseconds - midpoint), uncertainty: .milliseconds(half))
    }
}

/// The wall clock of every role on PostgreSQL: this host's clock plus the measured offset to the database server's,
/// so lease and claim expiry (which the stores compare with `now` from here) are judged by one clock for all hosts.
/// A host whose clock is seconds off then neither steals a live lease nor keeps a dead one; what remains is the
/// estimate's error (half a round trip) plus the drift between two samples.
public final class DatabaseClock: WallClock {
    private let local: any WallClock
    private let offsetMilliseconds = Atomic<Int64>(0)

    public init(local: any WallClock = SystemWallClock()) { self.local = local }

    public func now() -> Timestamp { local.now() + .milliseconds(offsetMilliseconds.load(ordering: .relaxed)) }

    /// The offset in force, for logs and metrics.
    public var offset: TimeSpan { .milliseconds(offsetMilliseconds.load(ordering: .relaxed)) }

    func apply(_ estimate: ClockOffsetEstimate) { offsetMilliseconds.store(estimate.offset.milliseconds, ordering: .relaxed) }

    /// A few samples of the server's clock over one connection.
    func sample(_ database: PostgresDatabase, count: Int = 5) async throws(StoreError) -> [ClockSample] {
        try await database.read("sample the database clock") { connection in
            var samples: [ClockSample] = []
            for _ in 0..<count {
                let before = local.now()
                let server = try await connection.query(
                    "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now", logger: database.logger
                ).rows().first?.value("now", Int64.self)
                let after = local.now()
                if let server { samples.append(ClockSample(localBefore: before, server: Timestamp(milliseconds: server), localAfter: after)) }
            }
            return samples
        }
    }

    /// Samples and applies the result; returns the estimate (nil: no usable sample, the offset stays).
    @discardableResult
    func synchronize(_ database: PostgresDatabase) async throws(StoreError) -> ClockOffsetEstimate? {
        guard let estimate = ClockOffsetEstimate(try await sample(database)) else { return nil }
        apply(estimate)
        return estimate
    }
}
