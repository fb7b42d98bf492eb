import BatonCore
import Testing

@Suite("The ticket state machine: named operations, from-states, to-states")
struct TicketTransitionTests {
    /// The table Docs/Architecture.md draws; a change here is a change to CONTRACT §6.
    static let table: [(TicketTransition, from: Set<TicketState>, to: Set<TicketState>)] = [
        (.write, from: [], to: [.pending, .skipped]),
        (.claim, from: [.pending, .retrying], to: [.running]),
        (.renew, from: [.running], to: [.running]),
        (.finish, from: [.running], to: [.succeeded, .failed, .retrying, .cancelled]),
        (.handBack, from: [.running], to: [.pending, .cancelled]),
        (.cancel, from: [.pending, .retrying], to: [.cancelled]),
        (.misfire, from: [.pending], to: [.skipped]),
        (.expire, from: [.running], to: [.retrying, .failed, .cancelled]),
        (.purge, from: [.succeeded, .failed, .cancelled, .skipped], to: []),
    ]

    @Test(arguments: table)
    func eachOperationMovesBetweenTheseStates(_ transition: TicketTransition, from: Set<TicketState>, to: Set<TicketState>) {
        #expect(transition.from == from)
        #expect(transition.to == to)
    }

    @Test func theTableNamesEveryOperationOnce() {
        #expect(Self.table.map(\.0) == TicketTransition.allCases)
    }

    @Test func theStateSetsPartitionTheStates() {
        #expect(TicketState.unfinished.isDisjoint(with: TicketState.final))
        #expect(TicketState.unfinished.union(TicketState.final) == Set(TicketState.allCases))
        #expect(TicketState.claimable.isSubset(of: TicketState.unfinished))
        #expect(TicketState.allCases.filter(\.isFinal) == [.succeeded, .failed, .cancelled, .skipped])
        #expect(TicketState.allCases.filter(\.isClaimable) == [.pending, .retrying])
    }

    @Test func everyUnfinishedStateHasAWayOutAndNoFinalStateDoesExceptPurge() {
        for state in TicketState.allCases {
            let out = TicketTransition.allCases.filter { $0.from.contains(state) && $0.to != [state] }
            if state.isFinal {
                #expect(out == [.purge], "\(state)")
            } else {
                #expect(!out.isEmpty, "\(state)")
            }
        }
    }

    @Test func everyStateIsWrittenOrReached() {
        let reached = TicketTransition.allCases.reduce(into: Set<TicketState>()) { $0.formUnion($1.to) }
        #expect(reached == Set(TicketState.allCases))
    }

    /// The store applies `AttemptResolution` under the operation the outcome names; it must not leave that
    /// operation's to-states, whatever the attempt count, budget or final reason.
    @Test(arguments: AttemptOutcome.allCases)
    func everyAttemptResolutionStaysWithinItsOperation(_ outcome: AttemptOutcome) {
        let transition = TicketTransition(ending: outcome)
        let now = Timestamp(milliseconds: 1_000_000)
        for maxAttempts in 1...3 {
            for attempt in 1...maxAttempts {
                for finalReason in [nil, TicketReason.commandsDisabled] {
                    let retry = RetryPolicy(maxAttempts: maxAttempts)
                    let resolution = AttemptResolution.after(
                        outcome: outcome, attempt: attempt, retry: retry, now: now, finalReason: finalReason)
                    #expect(transition.to.contains(resolution.state), "\(outcome) attempt \(attempt)/\(maxAttempts)")
                }
            }
        }
    }

    /// A requested cancel turns every outcome but success into `cancelled` (the store applies that before
    /// `AttemptResolution`), so every operation that ends an attempt must allow it.
    @Test(arguments: AttemptOutcome.allCases.filter { $0 != .succeeded })
    func aRequestedCancelIsWithinEveryOperationThatEndsAnAttempt(_ outcome: AttemptOutcome) {
        #expect(TicketTransition(ending: outcome).to.contains(.cancelled))
    }

    @Test func outcomesNameTheirOperation() {
        #expect(TicketTransition(ending: .handedBack) == .handBack)
        #expect(TicketTransition(ending: .leaseExpired) == .expire)
        for outcome: AttemptOutcome in [.succeeded, .failed, .timedOut, .cancelled] {
            #expect(TicketTransition(ending: outcome) == .finish)
        }
    }
}
