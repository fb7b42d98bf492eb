import BatonCore

/// Why a running action is stopped before it ends on its own.
public enum StopReason: String, Sendable, Equatable {
    /// The ticket was cancelled (heartbeat flag or `CANCEL`): the attempt is reported as cancelled.
    case cancelRequested = "cancel_requested"
    /// Graceful shutdown ran out of grace: the ticket goes back to `pending` for another executor.
    case handBack = "hand_back"
    /// The claim token was replaced: another executor may own the ticket. Nothing is reported.
    case fenced
    /// The lease could not be renewed before it expires. Nothing is reported.
    case leaseUnrenewable = "lease_unrenewable"

    /// Whether the attempt's end is written back; a claim we no longer own must stay silent.
    public var reportsOutcome: Bool {
        switch self {
        case .cancelRequested, .handBack: true
        case .fenced, .leaseUnrenewable: false
        }
    }

    /// Someone else may run the ticket now, or soon: no polite SIGTERM grace, kill at once.
    public var isImmediate: Bool {
        switch self {
        case .cancelRequested: false
        case .handBack, .fenced, .leaseUnrenewable: true
        }
    }
}

/// How an action ended, as the runner saw it.
public struct ActionResult: Sendable, Equatable {
    /// `.cancelled` means the runner was stopped (see ``StopReason``) before the action ended on its own.
    public var outcome: AttemptOutcome
    /// HTTP status or process exit status.
    public var status: Int?
    public var output: String?
    /// Set when no retry can succeed (e.g. `commands_disabled`): the ticket fails now, with this reason.
    public var finalReason: TicketReason?

    public init(outcome: AttemptOutcome, status: Int? = nil, output: String? = nil, finalReason: TicketReason? = nil) {
        self.outcome = outcome
        self.status = status
        self.output = output
        self.finalReason = finalReason
    }
}

/// The executor's claim and lease bookkeeping, without I/O (modelled on postgres-nio's `PoolStateMachine`).
///
/// Events come in with the current time; each returns the effects the shell must perform, in order.
/// The shell owns sockets, the database and processes; this type owns every decision about credit,
/// which tickets to claim, when to renew, when to stop an action and what (if anything) to report.
///
/// Slots: a ticket occupies one from the moment it is offered and we decide to claim it until its
/// attempt has ended. Credit, the number of free slots, is what `CREDIT` carries.
public struct ClaimStateMachine: Sendable {
    public enum Action: Sendable, Equatable {
        /// Claim these tickets in one store call; answer with ``claimSucceeded(requested:won:now:)`` or ``claimFailed(requested:)``.
        case claim([TicketID])
        /// Run these won claims.
        case start([ClaimedTicket])
        /// Stop a running action; it still ends through ``actionFinished(_:result:now:)``.
        case stop(TicketID, StopReason)
        /// Extend these leases in one store call; answer with ``heartbeatSucceeded(_:renewed:now:)`` or ``heartbeatFailed(now:)``.
        case renew([TicketID: ClaimToken])
        /// Write these attempt ends in one store call; answer with ``completionsWritten(_:)``.
        case complete([Completion])
        /// An attempt ended that we may not report (we no longer own its claim).
        case discard(TicketID, StopReason)
        /// Tell every scheduler our free slots.
        case sendCredit(Int)
        /// Shutdown is complete: nothing runs, nothing is left to report. Send `BYE` and exit.
        case finish
    }

    /// Where the executor is in its life.
    public enum Mode: Sendable, Equatable {
        /// Accepting tickets. Can transition to: `draining`.
        case accepting
        /// Graceful shutdown: no new tickets; running ones are handed back at `handBackAt`. Can transition to: `finished`.
        case draining(handBackAt: Timestamp)
        /// Everything is reported; terminal.
        case finished
    }

    /// A claim we hold.
    public struct RunningClaim: Sendable, Equatable {
        public var claim: ClaimedTicket
        public var leaseExpiresAt: Timestamp
        /// When this lease should next be renewed.
        public var renewDueAt: Timestamp
        /// Set once the action is being stopped; the strongest reason wins (see ``StopReason/reportsOutcome``).
        public var stopping: StopReason?
        /// A `CANCEL` arrived while a renewal was in flight: renew again right after it, to read the flag.
        public var recheckCancel = false
    }

    /// Counters for logs and metrics.
    public struct Counters: Sendable, Equatable {
        /// Claims another executor won, or that were not due yet: normal under contention.
        public var claimsLost = 0
        /// Offered tickets beyond our free slots (and beyond the offer backlog), or offered while draining.
        public var offersIgnored = 0
        /// Offered tickets beyond our free slots that were kept in the offer backlog, to be claimed as slots free up.
        public var offersDeferred = 0
        /// Offered tickets we already hold or are claiming.
        public var duplicateOffers = 0
        /// Attempts stopped and not reported because the token was replaced.
        public var fenced = 0
        /// Attempts stopped and not reported because the lease could not be renewed.
        public var leasesUnrenewable = 0
    }

    public let capacity: Int
    public let claimTTL: TimeSpan
    /// How many offers beyond our free slots we keep (in order) and claim as slots free up, instead of ignoring them.
    ///
    /// Why: `CREDIT` is an absolute count, so one sent just before a `TICKETS` message arrives overstates our free
    /// slots and the leader over-sends a little. Ignored, such a ticket waits `BATON_REDELIVER_AFTER` (2 s) for
    /// redelivery; kept here, it is claimed the moment a slot frees. Safety is unchanged: a kept ticket is claimed
    /// with the same conditional update, and if the leader has meanwhile given it to another executor, our claim
    /// simply loses. Backlogged tickets count against the credit we announce.
    public let offerBacklog: Int
    public private(set) var mode = Mode.accepting
    /// Offers kept for when a slot frees (see ``offerBacklog``), oldest first.
    public private(set) var deferred: [TicketID] = []
    private var deferredSet: Set<TicketID> = []
    public private(set) var running: [TicketID: RunningClaim] = [:]
    /// Tickets whose claim call is in flight.
    public private(set) var claiming: Set<TicketID> = []
    /// Completions handed to the shell and not yet confirmed written.
    public private(set) var unreported = 0
    public private(set) var counters = Counters()
    private var renewInFlight = false
    private var lastCreditSent: Int?

    public init(capacity: Int, claimTTL: TimeSpan, offerBacklog: Int = 0) {
        precondition(capacity >= 1, "capacity is validated by ExecutorConfiguration")
        self.capacity = capacity
        self.claimTTL = claimTTL
        self.offerBacklog = max(0, offerBacklog)
    }

    /// Free slots right now: what `CREDIT` announces. Zero once shutdown began.
    public var credit: Int {
        guard mode == .accepting else { return 0 }
        return max(0, capacity - running.count - claiming.count - deferred.count)
    }

    /// Slots not held by a running or claiming ticket (backlogged offers do not hold one yet).
    private var unoccupied: Int { max(0, capacity - running.count - claiming.count) }

    /// Tickets held or being claimed: what `HEARTBEAT` announces.
    public var inFlight: Int { running.count + claiming.count }

    /// Renew when a third of the TTL has passed (CONTRACT §9a).
    var renewEvery: TimeSpan { TimeSpan(milliseconds: max(1, claimTTL.milliseconds / 3)) }
    /// Stop an action this long before its lease would expire unrenewed, so it is dead before anyone else may claim it.
    var expiryMargin: TimeSpan { TimeSpan(milliseconds: claimTTL.milliseconds / 10) }
    /// After a failed renewal, try again this soon.
    var renewRetry: TimeSpan { TimeSpan(milliseconds: min(1000, max(100, claimTTL.milliseconds / 10))) }

    // MARK: Events

    /// `TICKETS` arrived: claim as many as we have free slots for, ignore the rest (the leader re-sends unclaimed ones).
    public mutating func ticketsOffered(_ ids: [TicketID]) -> [Action] {
        guard mode == .accepting else {
            counters.offersIgnored += ids.count
            return []
        }
        var free = credit
        var chosen: [TicketID] = []
        for id in ids {
            if running[id] != nil || claiming.contains(id) || chosen.contains(id) || deferredSet.contains(id) {
                counters.duplicateOffers += 1
            } else if free > 0 {
                chosen.append(id)
                free -= 1
            } else if deferred.count < offerBacklog {
                deferred.append(id)
                deferredSet.insert(id)
                counters.offersDeferred += 1
            } else {
                counters.offersIgnored += 1
            }
        }
        guard !chosen.isEmpty else { return creditIfChanged() }
        claiming.formUnion(chosen)
        // Lower the advertised credit before the (slower) claim call, so the leader does not over-send meanwhile.
        return creditIfChanged() + [.claim(chosen)]
    }

    /// The claim call returned; `won` are the tickets whose conditional update we made.
    public mutating func claimSucceeded(requested: [TicketID], won: [ClaimedTicket], now: Timestamp) -> [Action] {
        claiming.subtract(requested)
        counters.claimsLost += max(0, requested.count - won.count)
        var actions: [Action] = []
        if mode == .accepting {
            let renewAt = now + renewEvery
            var started: [ClaimedTicket] = []
            for claim in won where running[claim.id] == nil {
                running[claim.id] = RunningClaim(
                    claim: claim, leaseExpiresAt: claim.leaseExpiresAt, renewDueAt: renewAt, stopping: nil)
                started.append(claim)
            }
            if !started.isEmpty { actions.append(.start(started)) }
        } else if !won.isEmpty {
            // Won while shutting down: give them straight back so another executor runs them at once.
            unreported += won.count
            actions.append(
                .complete(
                    won.map {
                        Completion(id: $0.id, token: $0.token, outcome: .handedBack, retry: $0.spec.policy.retry, job: $0.jobName)
                    }))
        }
        return actions + claimDeferred() + creditIfChanged() + finishIfDrained()
    }

    /// The claim call failed (database error): nothing was claimed as far as we know. If a row was in fact
    /// updated, its lease expires and the sweeper retries it.
    public mutating func claimFailed(requested: [TicketID]) -> [Action] {
        claiming.subtract(requested)
        return creditIfChanged() + finishIfDrained()
    }

    /// Time passed: renew due leases, stop actions whose lease is about to run out, hand back after the grace.
    public mutating func tick(now: Timestamp) -> [Action] {
        var actions: [Action] = []
        if case .draining(let handBackAt) = mode, now >= handBackAt {
            for id in running.keys.sorted() where running[id]?.stopping == nil {
                actions += stop(id, .handBack)
            }
        }
        for id in running.keys.sorted() {
            guard let entry = running[id], entry.stopping?.reportsOutcome ?? true else { continue }
            if now >= entry.leaseExpiresAt - expiryMargin {
                counters.leasesUnrenewable += 1
                actions += stop(id, .leaseUnrenewable)
            }
        }
        if !renewInFlight {
            let renewable = running.filter { $0.value.stopping?.reportsOutcome ?? true }
            if renewable.values.contains(where: { $0.renewDueAt <= now }) {
                // One batched call for every claim we hold keeps write locks few and short.
                renewInFlight = true
                actions.append(.renew(renewable.mapValues(\.claim.token)))
            }
        }
        return actions + finishIfDrained()
    }

    /// The renewal call returned. `renewed` is what was sent, so a result for an older claim of the same ticket is ignored.
    public mutating func heartbeatSucceeded(
        _ results: [TicketID: HeartbeatResult], renewed: [TicketID: ClaimToken], now: Timestamp
    ) -> [Action] {
        renewInFlight = false
        let renewEvery = self.renewEvery
        var actions: [Action] = []
        for id in results.keys.sorted() {
            guard let result = results[id], let entry = running[id], entry.claim.token == renewed[id] else { continue }
            switch result {
            case .extended(let until, let cancelRequested):
                running[id]?.leaseExpiresAt = until
                running[id]?.renewDueAt = entry.recheckCancel ? now : now + renewEvery
                running[id]?.recheckCancel = false
                if cancelRequested { actions += stop(id, .cancelRequested) }
            case .lost:
                counters.fenced += 1
                actions += stop(id, .fenced)
            }
        }
        return actions
    }

    /// The renewal call failed (database error): retry soon; ``tick(now:)`` stops actions whose lease runs out first.
    public mutating func heartbeatFailed(now: Timestamp) -> [Action] {
        renewInFlight = false
        let retryAt = now + renewRetry
        for id in running.keys {
            running[id]?.renewDueAt = retryAt
        }
        return []
    }

    /// `CANCEL` arrived for a ticket. The message is only a hint (a forged one must not lose a ticket), so the
    /// claim is renewed at once and the database's cancel flag, seen in ``heartbeatSucceeded(_:renewed:now:)``,
    /// decides. If a renewal is already in flight, the next ``tick(now:)`` renews it.
    public mutating func cancelRequested(_ id: TicketID, now: Timestamp) -> [Action] {
        guard let entry = running[id], entry.stopping == nil else { return [] }
        guard !renewInFlight else {
            running[id]?.recheckCancel = true
            return []
        }
        renewInFlight = true
        return [.renew([id: entry.claim.token])]
    }

    /// An action ended, on its own or because it was stopped.
    public mutating func actionFinished(_ id: TicketID, result: ActionResult, now: Timestamp) -> [Action] {
        guard let entry = running.removeValue(forKey: id) else { return [] }
        var actions: [Action] = []
        if let reason = entry.stopping, !reason.reportsOutcome {
            actions.append(.discard(id, reason))
        } else {
            var outcome = result.outcome
            if entry.stopping == .handBack && result.outcome == .cancelled {
                outcome = .handedBack
            }
            unreported += 1
            actions.append(
                .complete([
                    Completion(
                        id: id, token: entry.claim.token, outcome: outcome, status: result.status, output: result.output,
                        retry: entry.claim.spec.policy.retry, finalReason: result.finalReason, job: entry.claim.jobName)
                ]))
        }
        return actions + claimDeferred() + creditIfChanged() + finishIfDrained()
    }

    /// The shell wrote (or gave up writing) `count` completions.
    public mutating func completionsWritten(_ count: Int) -> [Action] {
        unreported = max(0, unreported - count)
        return finishIfDrained()
    }

    /// Graceful shutdown: stop taking tickets now; hand back whatever still runs after `grace`.
    public mutating func shutdown(now: Timestamp, grace: TimeSpan) -> [Action] {
        guard mode == .accepting else { return [] }
        mode = .draining(handBackAt: now + grace)
        counters.offersIgnored += deferred.count
        deferred = []
        deferredSet = []
        return creditIfChanged() + tick(now: now)
    }

    /// The earliest instant ``tick(now:)`` has something to do, if any.
    public var nextDeadline: Timestamp? {
        var candidates: [Timestamp] = []
        if case .draining(let handBackAt) = mode, running.values.contains(where: { $0.stopping == nil }) {
            candidates.append(handBackAt)
        }
        for entry in running.values where entry.stopping?.reportsOutcome ?? true {
            candidates.append(entry.leaseExpiresAt - expiryMargin)
            if !renewInFlight { candidates.append(entry.renewDueAt) }
        }
        return candidates.min()
    }

    // MARK: Helpers

    private mutating func stop(_ id: TicketID, _ reason: StopReason) -> [Action] {
        guard let current = running[id]?.stopping else {
            running[id]?.stopping = reason
            return [.stop(id, reason)]
        }
        // Losing the claim outranks any reason that would still report; nothing else changes a decided stop.
        guard current.reportsOutcome, !reason.reportsOutcome else { return [] }
        running[id]?.stopping = reason
        return [.stop(id, reason)]
    }

    /// Claims backlogged offers into slots that have freed up, oldest first, in one call.
    private mutating func claimDeferred() -> [Action] {
        guard mode == .accepting, !deferred.isEmpty else { return [] }
        let count = min(unoccupied, deferred.count)
        guard count > 0 else { return [] }
        let batch = Array(deferred.prefix(count))
        deferred.removeFirst(count)
        deferredSet.subtract(batch)
        claiming.formUnion(batch)
        return [.claim(batch)]
    }

    private mutating func creditIfChanged() -> [Action] {
        let now = credit
        guard now != lastCreditSent else { return [] }
        lastCreditSent = now
        return [.sendCredit(now)]
    }

    private mutating func finishIfDrained() -> [Action] {
        guard case .draining = mode, running.isEmpty, claiming.isEmpty, unreported == 0 else { return [] }
        mode = .finished
        return [.finish]
    }
}
