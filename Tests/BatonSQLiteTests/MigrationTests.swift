import BatonCore
import BatonSQLite
import BatonStore
import BatonTestSupport
import Foundation
import Testing

@Suite("SQLite: migrations")
struct MigrationTests {
    @Test func migrationsRunSafelyFromManyConnectionsAtOnce() async throws {
        let directory = try TemporaryDirectory("migrate")
        defer { directory.remove() }
        let path = directory.databasePath
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let database = try BatonDatabase(StoreConfiguration(path: path))
                    try database.migrate()
                    return await database.isSchemaCurrent()
                }
            }
            for try await current in group { #expect(current) }
        }
    }
}
