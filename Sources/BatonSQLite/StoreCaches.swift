import BatonCore

/// A job revision: its spec and everything derived from it never change (every edit makes a new revision), and job
/// ids are random UUIDs, so a value cached under one is never stale.
package struct RevisionKey: Hashable, Sendable {
    var job: String
    var revision: Int64
}

/// Parsed specs by revision.
package typealias SpecCache = BoundedCache<RevisionKey, JobSpec>

/// The SQLite stores' caches. One per process, owned by the ``BatonDatabase`` (itself one per file per process) and
/// given to it by whoever opens it, so every store on that database, however many copies are made, shares them.
public struct StoreCaches: Sendable {
    /// Without it every GET, trigger and claim batch parsed and validated the job's spec (an eighth of the gateway's
    /// CPU).
    package let specs: SpecCache
    /// What the tick needs of each job revision (resolved schedule, policy, queue), interned so that jobs with the
    /// same schedule and policy share one copy. Parsing every due job's spec on every tick was most of the leader's
    /// CPU at 1,000 tickets/s; caching whole specs cost ~0.7 KB per job (a quarter of the leader's memory at
    /// 100,000 jobs), hence the smaller value and the larger bound.
    let tickInputs: TickInputsCache

    public init(specs: Int = 10_000, tickInputs: Int = 250_000) {
        self.specs = SpecCache(limit: specs)
        self.tickInputs = TickInputsCache(limit: tickInputs)
    }
}
