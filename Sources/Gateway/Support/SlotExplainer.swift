import BatonCore
import BatonStore

/// Answers "what happened to the slot at or before TIME?" for `GET /v1/jobs/{name}/explain`.
///
/// The slot is found with the job's current schedule (a schedule edited since then may have had
/// other slots), then looked up by its deterministic ticket id, so the answer comes from the same
/// hash the scheduler wrote.
struct SlotExplainer {
    /// What the explanation concludes; stable strings, documented in Docs/API.md.
    enum Verdict: String, Encodable {
        /// A ticket exists and was not skipped: see its state and attempts.
        case ticketed
        /// The scheduler recorded the slot as skipped; `reason` says why.
        case skipped
        /// TIME is before the job was created (a job of the same name may have existed then).
        case beforeCreation = "before_creation"
        /// No slot lies between the job's creation and TIME.
        case noSlot = "no_slot"
        /// The slot is in the future.
        case notYetDue = "not_yet_due"
        /// The job is paused and the slot lies after the last one it ticketed: paused slots are never run.
        case paused
        /// The slot is due but the scheduler has not reached it yet (no leader, or it is lagging).
        case awaitingScheduler = "awaiting_scheduler"
        /// The scheduler passed the slot but no ticket exists now.
        case noTicket = "no_ticket"
    }

    struct Explanation: Encodable {
        var job: String
        var at: Timestamp
        var slot: Timestamp?
        var verdict: Verdict
        var reason: String?
        var detail: String
        var ticket: TicketResource?

        enum CodingKeys: String, CodingKey { case job, at, slot, verdict, reason, detail, ticket }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(job, forKey: .job)
            try container.encode(at, forKey: .at)
            try container.encode(slot, forKey: .slot)
            try container.encode(verdict, forKey: .verdict)
            try container.encode(reason, forKey: .reason)
            try container.encode(detail, forKey: .detail)
            try container.encode(ticket, forKey: .ticket)
        }
    }

    let job: Job
    let schedule: Schedule
    let tickets: any TicketStore
    let now: Timestamp

    func explain(at instant: Timestamp) async throws -> Explanation {
        var result = Explanation(job: job.name, at: instant, slot: nil, verdict: .noSlot, reason: nil, detail: "", ticket: nil)
        guard instant >= job.createdAt else {
            result.verdict = .beforeCreation
            result.detail = "the job \"\(job.name)\" (id \(job.id)) was created at \(job.createdAt); it did not exist then"
            return result
        }
        guard let slot = slot(atOrBefore: instant) else {
            result.detail = "the schedule has no slot between the job's creation (\(job.createdAt)) and \(instant)"
            return result
        }
        result.slot = slot
        if let ticket = try await tickets.ticket(TicketID.scheduled(job: job.id, slot: slot)) {
            result.ticket = TicketResource(ticket: ticket, includeAttempts: true)
            result.reason = ticket.reason?.rawValue
            if ticket.state == .skipped {
                result.verdict = .skipped
                result.detail = "the slot was skipped (\(ticket.reason?.rawValue ?? "unknown reason"))"
                    + (ticket.detail.map { ": \($0)" } ?? "")
            } else {
                result.verdict = .ticketed
                result.detail = "ticket \(ticket.id) is \(ticket.state.rawValue) after \(ticket.attempt) of \(ticket.maxAttempts) attempt(s)"
            }
            return result
        }
        if slot > now {
            result.verdict = .notYetDue
            result.detail = "the slot is in the future"
        } else if slot > job.watermark {
            if job.spec.paused {
                result.verdict = .paused
                result.detail = "the job is paused; slots while paused are neither run nor caught up"
            } else {
                result.verdict = .awaitingScheduler
                result.detail = "the slot is due but no scheduler has ticketed it yet (is a leader running?)"
            }
        } else {
            result.verdict = .noTicket
            result.detail = "the scheduler passed this slot without a ticket that still exists: the job was paused then, "
                + "the ticket was purged by retention, or it was a skip beyond the catch-up record limit"
        }
        return result
    }

    /// The latest slot in (createdAt, instant]. Searches backwards in doubling windows, so a
    /// per-second cron and a yearly one both take a handful of `nextSlot` steps.
    func slot(atOrBefore instant: Timestamp) -> Timestamp? {
        var window = TimeSpan.minutes(1)
        while true {
            let lower = max(job.createdAt, instant - window)
            var cursor = lower
            var latest: Timestamp?
            var steps = 0
            while let next = schedule.nextSlot(after: cursor), next <= instant {
                latest = next
                cursor = next
                steps += 1
                if steps > 100_000 { break }
            }
            if let latest { return latest }
            // `instant − window` clamps at year 0001, so a stored createdAt before it cannot make this loop forever.
            if lower == job.createdAt || lower == Timestamp.earliest { return nil }
            window = window * 2
        }
    }
}
