import BatonCore
import BatonPostgresTestSupport
import BatonStore

extension StoreBackend {
    /// The PostgreSQL stores on a fresh database of the test process's private cluster; a second connection is a
    /// second client (its own pool) on that database. Without PostgreSQL installed, every test fails saying so.
    static let postgres = StoreBackend(
        name: "PostgreSQL",
        open: {
            let temporary = try await TemporaryPostgres()
            return StoreFixture(stores: temporary.backend.stores, owner: temporary) { temporary.connect() }
        },
        storeRawSpec: { fixture, job, json in
            guard let temporary = fixture.owner as? TemporaryPostgres else { throw StoreError(.corrupt, "not a PostgreSQL fixture") }
            try await temporary.storeRawSpec(jobID: job.id, revision: job.revision, json: json)
        })
}
