import BatonCore
import BatonStore
import Foundation

/// A job as the API shows it: the canonical spec (secrets masked) plus the server's fields (CONTRACT §4).
/// A parked job adds `parkedReason`; when its spec cannot be read here, only its name stands in for the spec.
struct JobResource: Encodable {
    let job: Job

    enum ServerKeys: String, CodingKey {
        case id, revision, state, createdAt, updatedAt, nextFireAt, lastTicket, lastSuccessAt, lastFailureAt
        case name, parkedReason
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: ServerKeys.self)
        if job.parking?.specReadable ?? true {
            // The spec writes its keys into the same object; JSONEncoder merges keyed containers at one level.
            try job.spec.redacted.encode(to: encoder)
        } else {
            try container.encode(job.name, forKey: .name)
        }
        if let parking = job.parking { try container.encode(parking.reason, forKey: .parkedReason) }
        try container.encode(job.id, forKey: .id)
        try container.encode(job.revision, forKey: .revision)
        try container.encode(job.state, forKey: .state)
        try container.encode(job.createdAt, forKey: .createdAt)
        try container.encode(job.updatedAt, forKey: .updatedAt)
        try container.encode(job.nextFireAt, forKey: .nextFireAt)
        try container.encode(job.lastTicket?.hex, forKey: .lastTicket)
        try container.encode(job.lastSuccessAt, forKey: .lastSuccessAt)
        try container.encode(job.lastFailureAt, forKey: .lastFailureAt)
    }
}

/// A ticket as the API shows it (CONTRACT §9); `attempts` only on single-ticket reads.
struct TicketResource: Encodable {
    struct AttemptResource: Encodable {
        var number: Int
        var executor: String
        var startedAt: Timestamp
        var finishedAt: Timestamp?
        var outcome: String?
        var status: Int?
        var output: String?

        init(_ attempt: Attempt) {
            number = attempt.number
            executor = attempt.executor
            startedAt = attempt.startedAt
            finishedAt = attempt.finishedAt
            outcome = attempt.outcome?.rawValue
            status = attempt.status
            output = attempt.output
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(number, forKey: .number)
            try container.encode(executor, forKey: .executor)
            try container.encode(startedAt, forKey: .startedAt)
            try container.encode(finishedAt, forKey: .finishedAt)
            try container.encode(outcome, forKey: .outcome)
            try container.encode(status, forKey: .status)
            try container.encode(output, forKey: .output)
        }

        enum CodingKeys: String, CodingKey { case number, executor, startedAt, finishedAt, outcome, status, output }
    }

    let ticket: Ticket
    let includeAttempts: Bool

    enum CodingKeys: String, CodingKey {
        case id, job, jobId, revision, slot, state, reason, detail, epoch, attempt, maxAttempts, notBefore, createdAt
        case startedAt, finishedAt, executor, manual, attempts
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ticket.id.hex, forKey: .id)
        try container.encode(ticket.jobName, forKey: .job)
        try container.encode(ticket.jobID.rawValue, forKey: .jobId)
        try container.encode(ticket.revision, forKey: .revision)
        try container.encode(ticket.slot, forKey: .slot)
        try container.encode(ticket.state.rawValue, forKey: .state)
        try container.encode(ticket.reason?.rawValue, forKey: .reason)
        try container.encode(ticket.detail, forKey: .detail)
        try container.encode(ticket.epoch, forKey: .epoch)
        try container.encode(ticket.attempt, forKey: .attempt)
        try container.encode(ticket.maxAttempts, forKey: .maxAttempts)
        try container.encode(ticket.notBefore, forKey: .notBefore)
        try container.encode(ticket.createdAt, forKey: .createdAt)
        try container.encode(ticket.startedAt, forKey: .startedAt)
        try container.encode(ticket.finishedAt, forKey: .finishedAt)
        try container.encode(ticket.executor, forKey: .executor)
        try container.encode(ticket.manual, forKey: .manual)
        if includeAttempts {
            try container.encode((ticket.attempts ?? []).map(AttemptResource.init), forKey: .attempts)
        }
    }
}

/// `{"items": [...], "nextCursor": string|null}` (CONTRACT §9).
struct ListResource<Item: Encodable>: Encodable {
    var items: [Item]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey { case items, nextCursor }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

/// One fire instant, in UTC and as local wall-clock time with its offset.
struct FireResource: Encodable {
    var utc: String
    var local: String

    init(_ instant: Timestamp, zone: TimeZone) {
        utc = instant.rfc3339
        local = LocalTime.rfc3339(instant, in: zone)
    }
}

enum LocalTime {
    /// `2026-03-08T03:30:00-04:00`: the instant read in `zone`, with that zone's offset at that instant.
    ///
    /// A local reading outside years 0001–9999 (an instant within a day of either end, in a zone whose offset
    /// crosses it) has no RFC 3339 form; the UTC form of the same instant is answered instead.
    static func rfc3339(_ instant: Timestamp, in zone: TimeZone) -> String {
        let date = Date(timeIntervalSince1970: TimeInterval(instant.seconds))
        let offset = zone.secondsFromGMT(for: date)
        guard let shifted = instant.adding(.seconds(Int64(offset))) else { return instant.rfc3339 }
        let local = shifted.rfc3339  // `…Z` with local digits
        let sign = offset < 0 ? "-" : "+"
        let magnitude = abs(offset)
        let suffix = offset == 0 ? "Z" : String(format: "%@%02d:%02d", sign, magnitude / 3600, (magnitude % 3600) / 60)
        return String(local.dropLast()) + suffix
    }
}
