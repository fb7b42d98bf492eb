/// The lifecycle state of a job as the API shows it.
public enum JobState: String, Sendable, Codable, CaseIterable {
    case active
    case paused
    /// A schedule with no slot left (a one-off that has fired, or past `endAt`).
    case completed
    /// The scheduler cannot plan this revision (or this process cannot read its spec): no slot is ticketed until a
    /// new revision (PUT/PATCH), or a scheduler that can read it takes the lead. `Job.parking` says why.
    case parked
}

/// Why a job is parked. Every other job keeps running; this one waits for a spec its readers understand.
public struct Parking: Sendable, Equatable {
    /// For people: which field, and what this build could not do with it.
    public var reason: String
    /// False when this process cannot read the stored spec at all: `Job.spec` is then a stand-in that carries only
    /// the name, queue and paused flag (from the job's row), and nothing may be derived from its schedule, action or
    /// policy.
    public var specReadable: Bool

    public init(reason: String, specReadable: Bool) {
        self.reason = reason
        self.specReadable = specReadable
    }
}

/// A stored job: the user's spec plus what the server tracks about it.
public struct Job: Sendable, Equatable {
    public var id: JobID
    public var revision: Int64
    public var spec: JobSpec
    public var state: JobState
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    /// The last slot ticketed (or skipped); no slot at or before it is ticketed again.
    public var watermark: Timestamp
    public var nextFireAt: Timestamp?
    public var lastTicket: TicketID?
    public var lastSuccessAt: Timestamp?
    public var lastFailureAt: Timestamp?
    /// Set exactly when `state` is `.parked`.
    public var parking: Parking?

    public init(
        id: JobID, revision: Int64, spec: JobSpec, state: JobState, createdAt: Timestamp, updatedAt: Timestamp,
        watermark: Timestamp, nextFireAt: Timestamp?, lastTicket: TicketID? = nil, lastSuccessAt: Timestamp? = nil,
        lastFailureAt: Timestamp? = nil, parking: Parking? = nil
    ) {
        self.id = id
        self.revision = revision
        self.spec = spec
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.watermark = watermark
        self.nextFireAt = nextFireAt
        self.lastTicket = lastTicket
        self.lastSuccessAt = lastSuccessAt
        self.lastFailureAt = lastFailureAt
        self.parking = parking
    }

    public var name: String { spec.name }

    /// The schedule resolved against this job's creation time.
    public func schedule() throws(CronError) -> Schedule {
        try Schedule(spec.schedule, createdAt: createdAt)
    }
}
