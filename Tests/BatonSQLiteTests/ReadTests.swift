import BatonCore
import BatonSQLite
import Foundation
import GRDB
import Synchronization
import Testing

@Suite("SQLite: reads")
struct ReadTests {
    /// More reads at once than the pool has reader connections: those beyond the count take GRDB's async path
    /// instead of blocking a cooperative thread for a connection, and every one completes with its own answer.
    @Test(.timeLimit(.minutes(1)))
    func moreConcurrentReadsThanReadersAllComplete() async throws {
        let store = try StoreFixture()
        let busiest = Concurrency()
        let answers = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<64 {
                group.addTask {
                    try await store.database.read { db in
                        busiest.state.withLock {
                            $0.now += 1
                            $0.most = max($0.most, $0.now)
                        }
                        defer { busiest.state.withLock { $0.now -= 1 } }
                        usleep(2_000)  // the subject: a read that holds its connection for a while
                        return try Int.fetchOne(db, sql: "SELECT ?", arguments: [index]) ?? -1
                    }
                }
            }
            var answers: [Int] = []
            for try await answer in group { answers.append(answer) }
            return answers
        }
        #expect(answers.sorted() == Array(0..<64))
        #expect(busiest.state.withLock { $0.most } <= 4, "never more reads at once than reader connections")
    }
}

/// How many reads run at once, and the most seen.
private final class Concurrency: Sendable {
    let state = Mutex((now: 0, most: 0))
}
