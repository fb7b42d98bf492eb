import BatonPostgresTestSupport
import BatonTestSupport
import Foundation
import Testing

/// Issue 14 item 4: a role started on a PostgreSQL database it cannot use exits 2 with a line that names the
/// problem, within the start-up wait, and never prints the password. Before, it waited forever.
@Suite("baton roles on an unusable PostgreSQL", .timeLimit(.minutes(2)))
struct PostgresStartupTests {
    /// A port nothing listens on: bound below the ephemeral range by `freePort()` and released at once.
    @Test func anUnreachableServerExitsTwoWithinTheWaitNamingHostAndPort() async throws {
        let workspace = try Workspace()
        let port = freePort()
        let started = ContinuousClock.now
        let scheduler = try BatonProcess(
            ["scheduler"],
            environment: [
                "BATON_DB": "postgres://u:secretpw@127.0.0.1:\(port)/x", "BATON_DB_CONNECT_TIMEOUT": "2s",
                "BATON_DISPATCH_BIND": "tcp://127.0.0.1:\(freePort())",
            ],
            directory: workspace.directory, name: "scheduler")
        defer { scheduler.signal(SIGKILL) }
        let status = await scheduler.waitForExit(timeout: .seconds(30))
        let took = ContinuousClock.now - started
        let log = scheduler.log
        #expect(status == 2, "\(log)")
        // 2 s of retries, plus the process's own start (a debug build on a busy CI core).
        #expect(took < .seconds(15), "took \(took)")
        #expect(log.contains("127.0.0.1:\(port)") && log.contains("connection refused"), "\(log)")
        #expect(log.contains("BATON_DB_CONNECT_TIMEOUT"), "\(log)")
        #expect(!log.contains("secretpw"), "\(log)")
    }

    @Test func aDatabaseThatDoesNotExistExitsTwoAtOnceNamingIt() async throws {
        let cluster = try PostgresCluster.shared.get()
        let workspace = try Workspace()
        let started = ContinuousClock.now
        let executor = try BatonProcess(
            ["executor"],
            environment: [
                "BATON_DB": "postgres://\(PostgresCluster.user):secretpw@127.0.0.1:\(cluster.port)/no_such_database",
                "BATON_SCHEDULERS": "tcp://127.0.0.1:\(freePort())",
            ],
            directory: workspace.directory, name: "executor")
        defer { executor.signal(SIGKILL) }
        let status = await executor.waitForExit(timeout: .seconds(30))
        let log = executor.log
        #expect(status == 2, "\(log)")
        // Well inside the default 30 s wait: a missing database is not worth waiting for.
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(log.contains("database \"no_such_database\" does not exist"), "\(log)")
        #expect(log.contains("127.0.0.1:\(cluster.port)"), "\(log)")
        #expect(!log.contains("secretpw"), "\(log)")
    }
}
