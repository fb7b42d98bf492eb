import BatonSQLite
import BatonSQLiteTestSupport
import BatonStore

extension StoreBackend {
    /// The SQLite stores on a temporary file; a second connection is a second `DatabasePool` on that file.
    static let sqlite = StoreBackend(name: "SQLite") {
        let temporary = try TemporarySQLite(prefix: "baton-contract")
        return StoreFixture(stores: .sqlite(temporary.database), owner: temporary) {
            .sqlite(try temporary.secondConnection())
        }
    }
}
