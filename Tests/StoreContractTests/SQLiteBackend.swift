import BatonCore
import BatonSQLite
import BatonSQLiteTestSupport
import BatonStore

extension StoreBackend {
    /// The SQLite stores on a temporary file; a second connection is a second `DatabasePool` on that file.
    static let sqlite = StoreBackend(
        name: "SQLite",
        open: {
            let temporary = try TemporarySQLite(prefix: "contract")
            return StoreFixture(stores: .sqlite(temporary.database), owner: temporary) {
                .sqlite(try temporary.secondConnection())
            }
        },
        storeRawSpec: { fixture, job, json in
            guard let temporary = fixture.owner as? TemporarySQLite else { throw StoreError(.corrupt, "not an SQLite fixture") }
            try await temporary.database.pool.write { db in
                try db.execute(sql: "UPDATE job SET spec = ? WHERE id = ?", arguments: [json, job.id.rawValue])
                try db.execute(
                    sql: "UPDATE job_revision SET spec = ? WHERE job_id = ? AND revision = ?",
                    arguments: [json, job.id.rawValue, job.revision])
            }
        })
}
