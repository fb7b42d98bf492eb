import BatonCore

/// The ticket state machine's preconditions as SQL predicates, for every backend. Every move is one conditional
/// statement whose WHERE clause is the operation's `from` states, rendered here from BatonCore's state sets, so a
/// ticket another writer moved first is simply not matched; no store spells a state literal itself. SQLite and
/// PostgreSQL read this text alike, and both backends' partial indexes are written with exactly this text.
package enum TicketPredicate {
    /// `state = 'running'` or `state IN ('pending', 'retrying')`: the states in declaration order.
    ///
    /// Exactly this text because the partial indexes in the migrations are written so, shipped, and never edited:
    /// SQLite uses a partial index only when it can prove the query's WHERE implies the index's, term by term, and
    /// an IN list in another order is not proven; the query would scan instead. `TicketTransitionSQLTests` checks
    /// the text against the SQLite schema and its plans.
    package static func state(in states: Set<TicketState>) -> String {
        precondition(!states.isEmpty, "a state predicate needs a state")
        let literals = TicketState.allCases.filter(states.contains).map(\.sqlLiteral)
        return literals.count == 1 ? "state = \(literals[0])" : "state IN (\(literals.joined(separator: ", ")))"
    }

    /// What claim and cancel take (`ticket_due`).
    package static let claimable = state(in: TicketTransition.claim.from)
    /// What renew, finish, hand back and expire act on (`ticket_running`).
    package static let running = state(in: TicketTransition.expire.from)
    /// What misfire may skip: only a ticket with a start deadline has one to miss (`ticket_deadline`).
    package static let misfirable = state(in: TicketTransition.misfire.from) + " AND deadline IS NOT NULL"
    /// ``TicketState/unfinished``, spelt by the column that every move into a final state sets and no other move
    /// does (`ticket_open_job`): a claim changes `state` but not `finished_at`, so this index entry survives it.
    package static let unfinished = "finished_at IS NULL"
    /// ``TicketState/final``, likewise: what purge may delete (`ticket_finished`).
    package static let finished = "finished_at IS NOT NULL"

    /// `column IN ('succeeded', …)`: whether a state value, such as a row's new state in a batched move, is final
    /// (``TicketState/final``); the move that sets it also sets `finished_at`.
    package static func isFinal(_ column: String) -> String { "\(column) IN (\(finalLiterals))" }
    private static let finalLiterals = TicketState.allCases.filter(\.isFinal).map(\.sqlLiteral).joined(separator: ", ")

    /// The `detail` a misfired ticket gets.
    package static let misfireDetail = "not claimed by its start deadline (slot + misfireGrace)"
}

extension TicketState {
    /// The state as an SQL string literal; raw values are plain words, so nothing needs escaping.
    package var sqlLiteral: String { "'\(rawValue)'" }
}

extension AttemptResolution {
    /// Where a running ticket goes when its attempt ends with `outcome`, as every backend records it: the attempt
    /// budget is the one the ticket was written with (`maxAttempts`), and a ticket asked to stop ends cancelled
    /// whatever its action reported short of success.
    package static func ending(
        outcome: AttemptOutcome, attempt: Int, maxAttempts: Int, cancelRequested: Bool, retry: RetryPolicy,
        finalReason: TicketReason?, now: Timestamp
    ) -> AttemptResolution {
        var policy = retry
        policy.maxAttempts = maxAttempts  // the ticket pins the attempt budget it was written with
        return after(
            outcome: outcome, attempt: attempt, retry: policy, now: now, finalReason: finalReason, cancelRequested: cancelRequested)
    }
}
