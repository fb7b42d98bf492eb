import BatonCore
import BatonStore
import Foundation
import GRDB
import Testing

@testable import BatonSQLite

/// The state predicates are rendered from BatonCore's sets, but the partial indexes that make them fast were shipped
/// as literal text. These tests fail if a rendering drifts from that text, which SQLite would answer with a scan.
@Suite("Ticket transitions in SQL: predicates match the partial indexes")
struct TicketTransitionSQLTests {
    static let indexes: [(name: String, predicate: String)] = [
        ("ticket_due", TicketPredicate.claimable),
        ("ticket_running", TicketPredicate.running),
        ("ticket_deadline", TicketPredicate.misfirable),
        ("ticket_open_job", TicketPredicate.unfinished),
        ("ticket_finished", TicketPredicate.finished),
    ]

    @Test func predicatesRenderInTheIndexesLiteralForm() {
        #expect(TicketPredicate.claimable == "state IN ('pending', 'retrying')")
        #expect(TicketPredicate.running == "state = 'running'")
        #expect(TicketPredicate.misfirable == "state = 'pending' AND deadline IS NOT NULL")
        #expect(TicketPredicate.state(in: TicketState.unfinished) == "state IN ('pending', 'running', 'retrying')")
    }

    @Test(arguments: indexes)
    func eachPartialIndexIsDeclaredWithTheRenderedPredicate(_ index: String, predicate: String) async throws {
        let store = try StoreFixture()
        let sql = try await store.database.pool.read { db in
            try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [index])
        }
        let declared = try #require(sql, "no index \(index)")
        #expect(declared.hasSuffix("WHERE " + predicate), "\(declared)")
    }

    func plan(_ sql: String, _ arguments: StatementArguments) async throws -> [String] {
        let store = try StoreFixture()
        return try await store.database.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
        }
    }

    static let queries: [(operation: String, sql: String, index: String)] = [
        ("next wake", "SELECT MIN(not_before) FROM ticket WHERE \(TicketPredicate.claimable) AND not_before > ?", "ticket_due"),
        ("expire", TicketRows.expiredSQL, "ticket_running"),
        ("misfire", TicketRows.misfireSQL, "ticket_deadline"),
        (
            "purge",
            "SELECT seq FROM ticket WHERE \(TicketPredicate.finished) AND finished_at < ? LIMIT ?", "ticket_finished"
        ),
        (
            "unfinished of a job",
            "SELECT EXISTS (SELECT 1 FROM ticket WHERE job_id = ? AND \(TicketPredicate.unfinished))", "ticket_open_job"
        ),
    ]

    @Test(arguments: queries)
    func eachOperationIsAnsweredFromItsPartialIndex(_ operation: String, sql: String, index: String) async throws {
        let arguments = StatementArguments(Array(repeating: 1 as Int64, count: sql.filter { $0 == "?" }.count))
        let details = try await plan(sql, arguments)
        let uses = details.contains { $0.contains("USING INDEX \(index)") || $0.contains("USING COVERING INDEX \(index)") }
        #expect(uses, "\(operation): \(details)")
    }
}
