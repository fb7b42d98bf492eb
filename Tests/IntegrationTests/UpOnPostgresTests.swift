import BatonCore
import BatonPostgresTestSupport
import BatonStore
import BatonTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Issue 14 item 7: `baton up --db postgres://…` runs its scheduler, executor and gateway on the PostgreSQL database
/// it is given (and `--demo` puts its jobs there), not on the embedded SQLite file.
@Suite("baton up --db postgres://", .timeLimit(.minutes(3)))
struct UpOnPostgresTests {
    @Test func everyRoleRunsOnThePostgresDatabaseAndTheDemoJobsRunThere() async throws {
        let workspace = try Workspace()
        let database = try await TemporaryPostgres()
        let data = workspace.directory.appendingPathComponent("data")
        let port = freePort()
        let up = try BatonProcess(
            ["up", "--db", database.url, "--data", data.path, "--port", "\(port)", "--executors", "1", "--demo"],
            environment: [:], directory: workspace.directory, name: "up")
        // Always SIGTERM, so `baton up` stops the children it started (a SIGKILL would orphan them); waitForExit
        // SIGKILLs it only if it has not stopped within its bound.
        func stop() async -> Int32 {
            up.signal(SIGTERM)
            return await up.waitForExit(timeout: .seconds(30))
        }
        do {
            let stores = database.backend.stores
            let ready = await eventually(timeout: .seconds(60)) {
                guard up.isRunning, let url = URL(string: "http://127.0.0.1:\(port)/readyz") else { return !up.isRunning }
                return (try? await URLSession.shared.data(from: url).1 as? HTTPURLResponse)?.statusCode == 200
            }
            try #require(ready && up.isRunning, "the gateway did not become ready: \(up.log.suffix(3000))")
            #expect(try await stores.jobs.job(named: "demo-hello") != nil, "the demo jobs are not on PostgreSQL")
            // The scheduler leads on PostgreSQL, and the executor runs a demo ticket there (demo-hello fires every 10 s).
            #expect(try await eventually(timeout: .seconds(30)) { try await stores.leases.current() != nil }, "\(up.log.suffix(3000))")
            let succeeded = try await eventually(timeout: .seconds(60)) {
                try await !stores.tickets.all(TicketFilter(jobName: "demo-hello", state: .succeeded)).isEmpty
            }
            #expect(succeeded, "no demo ticket succeeded on PostgreSQL: \(up.log.suffix(3000))")
            #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("baton.sqlite").path))
        } catch {
            _ = await stop()
            throw error
        }
        #expect(await stop() == 0, "\(up.log.suffix(3000))")
    }
}
