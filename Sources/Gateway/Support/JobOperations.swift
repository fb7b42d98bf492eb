import BatonCore
import BatonStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// What is done to a job, and what is derived from it, written once for the two front ends: the API's routes
/// (``JobController``) and the console's forms (``ConsoleController``). A console button therefore makes exactly
/// the change, log line and scheduler wake-up its API call makes.
struct JobOperations {
    let dependencies: GatewayDependencies
    let logger: Logger

    /// A manual ticket, or the one an earlier trigger with the same idempotency key wrote. The job's existence is
    /// decided in the transaction that writes the ticket.
    func trigger(name: String, idempotencyKey key: String?) async throws -> (ticket: Ticket, created: Bool) {
        let (ticket, created) = try await dependencies.tickets.trigger(jobName: name, idempotencyKey: key, now: dependencies.clock.now())
        if created {
            dependencies.waker.wake(ticket: ticket.id)
            logger.info("job triggered", metadata: ["job": "\(name)", "ticket": "\(ticket.id)"])
        }
        return (ticket, created)
    }

    func setPaused(_ paused: Bool, name: String, ifRevision revision: Int64?) async throws -> Job {
        let job = try await dependencies.jobs.setPaused(paused, name: name, ifRevision: revision, now: dependencies.clock.now())
        logger.info(paused ? "job paused" : "job resumed", metadata: ["job": "\(name)"])
        return job
    }

    func delete(name: String, ifRevision revision: Int64?) async throws {
        try await dependencies.jobs.delete(name: name, ifRevision: revision, now: dependencies.clock.now())
        logger.info("job deleted", metadata: ["job": "\(name)"])
    }

    /// The job named `name`, or 404.
    func existing(_ name: String) async throws -> Job {
        guard let job = try await dependencies.jobs.job(named: name) else {
            throw APIError(.notFound, "no job named \"\(name)\"")
        }
        return job
    }

    /// The next `count` fire instants strictly after `from`, in UTC and in the job's zone.
    static func preview(_ job: Job, count: Int, after from: Timestamp) throws(APIError) -> SchedulePreview {
        let schedule = try resolve(job)
        let zoneName = zoneName(job.spec.schedule)
        let zone = Self.zone(named: zoneName)
        let fires = schedule.slots(after: from, count: count)
        return SchedulePreview(job: job.name, timezone: zoneName, paused: job.spec.paused, fires: fires.map { FireResource($0, zone: zone) })
    }

    /// `Idempotency-Key` (API header, console hidden field): 1 to 255 printable ASCII characters.
    static func idempotencyKey(_ text: String?, field: String) throws(APIError) -> String? {
        guard let text else { return nil }
        guard (1...255).contains(text.utf8.count), text.utf8.allSatisfy({ (0x20...0x7e).contains($0) }) else {
            throw APIError.invalid(field, "must be 1 to 255 printable ASCII characters")
        }
        return text
    }

    /// A parked job whose spec this gateway cannot read has only a stand-in spec: nothing may be derived from it.
    static func requireReadableSpec(_ job: Job, for operation: String) throws(APIError) {
        if let parking = job.parking, !parking.specReadable {
            throw APIError(
                .conflict,
                "job \"\(job.name)\" is parked and its spec cannot be read by this gateway, so it cannot be \(operation); "
                    + "replace it with PUT or delete it (\(parking.reason))")
        }
    }

    static func resolve(_ job: Job) throws(APIError) -> Schedule {
        try requireReadableSpec(job, for: "previewed or explained")
        do {
            return try job.schedule()
        } catch {
            throw APIError(.conflict, "the stored schedule of \"\(job.name)\" cannot be evaluated: \(error.message)")
        }
    }

    /// The zone a schedule's wall-clock times are read in: a cron job's own, UTC for the others.
    static func zoneName(_ spec: ScheduleSpec) -> String {
        if case .cron = spec.kind { return spec.timezone }
        return "UTC"
    }

    static func zone(named name: String) -> TimeZone {
        TimeZone(identifier: name) ?? TimeZone(secondsFromGMT: 0) ?? .current
    }
}

struct SchedulePreview: Encodable {
    var job: String
    var timezone: String
    var paused: Bool
    var fires: [FireResource]
}
