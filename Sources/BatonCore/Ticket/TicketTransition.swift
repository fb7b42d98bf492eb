/// The operations that move a ticket, each with the states it may start from and end in (CONTRACT §6).
///
/// This is the one statement of the ticket state machine: a store renders each operation's precondition from `from`
/// (SQLite: `TicketPredicate`), so a rule changed here changes in every backend, and Docs/Architecture.md's
/// diagram names exactly these cases.
///
/// ```
///   (new) ──write──▶ pending | skipped
///   pending, retrying ──claim──▶ running
///   running ──renew──▶ running
///   running ──finish──▶ succeeded | failed | retrying | cancelled
///   running ──expire──▶ failed | retrying | cancelled
///   running ──hand back──▶ pending | cancelled
///   pending, retrying ──cancel──▶ cancelled
///   pending ──misfire──▶ skipped
///   succeeded | failed | cancelled | skipped ──purge──▶ (deleted)
/// ```
public enum TicketTransition: String, Sendable, CaseIterable {
    /// A new row: the leader's tick or a manual trigger writes it `pending`, or `skipped` for a slot it will not run.
    case write
    /// One executor wins a due ticket (one conditional UPDATE; a serialized ticket also waits for earlier ones).
    case claim
    /// The claim holder's heartbeat extends its lease; it learns here whether a cancel was requested.
    case renew
    /// The claim holder reports its attempt; ``AttemptResolution`` picks the state. A requested cancel ends it
    /// `cancelled` whatever the outcome, unless it succeeded.
    case finish
    /// The claim holder gives the ticket back unrun (shutting down): due again at once, the attempt not counted;
    /// `cancelled` instead if a cancel was requested meanwhile.
    case handBack
    /// Ends a ticket no executor holds. A running ticket is not moved: it is asked to stop (seen at its next
    /// renew) and whatever ends its attempt (finish, hand back, expire) ends it `cancelled`.
    case cancel
    /// The leader skips a ticket not claimed by its start deadline (slot + misfireGrace).
    case misfire
    /// The leader's lease sweep ends an attempt whose claim stopped renewing, as ``finish`` would a failure.
    case expire
    /// Retention deletes a final ticket.
    case purge

    /// The states the operation may start from; empty for ``write``, which makes the row.
    public var from: Set<TicketState> {
        switch self {
        case .write: []
        case .claim, .cancel: TicketState.claimable
        case .renew, .finish, .handBack, .expire: [.running]
        case .misfire: [.pending]
        case .purge: TicketState.final
        }
    }

    /// The states the operation may leave the ticket in; empty for ``purge``, which deletes the row.
    public var to: Set<TicketState> {
        switch self {
        case .write: [.pending, .skipped]
        case .claim, .renew: [.running]
        case .finish: [.succeeded, .failed, .retrying, .cancelled]
        case .handBack: [.pending, .cancelled]
        case .cancel: [.cancelled]
        case .misfire: [.skipped]
        case .expire: [.retrying, .failed, .cancelled]
        case .purge: []
        }
    }

    /// The operation that ends an attempt with `outcome`.
    public init(ending outcome: AttemptOutcome) {
        switch outcome {
        case .handedBack: self = .handBack
        case .leaseExpired: self = .expire
        case .succeeded, .failed, .timedOut, .cancelled: self = .finish
        }
    }
}
