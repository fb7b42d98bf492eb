import BatonCore

/// A job revision: its spec and everything derived from it never change (every edit makes a new revision), and job
/// ids are random UUIDs, so a value cached under one is never stale.
package struct RevisionKey: Hashable, Sendable {
    package var job: String
    package var revision: Int64

    package init(job: String, revision: Int64) {
        self.job = job
        self.revision = revision
    }
}

/// Parsed specs by revision.
package typealias SpecCache = BoundedCache<RevisionKey, JobSpec>

/// A backend's caches. One per process, owned by the backend's database handle (itself one per database per
/// process) and given to it by whoever opens it, so every store on that database, however many copies are made,
/// shares them.
public struct StoreCaches: Sendable {
    /// Without it every GET, trigger and claim batch parsed and validated the job's spec (an eighth of the SQLite
    /// gateway's CPU).
    package let specs: SpecCache
    /// What the tick needs of each job revision (``TickInputsCache``).
    package let tickInputs: TickInputsCache

    public init(specs: Int = 10_000, tickInputs: Int = 250_000) {
        self.specs = SpecCache(limit: specs)
        self.tickInputs = TickInputsCache(limit: tickInputs)
    }
}
