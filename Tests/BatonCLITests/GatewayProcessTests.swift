import BatonTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import baton

/// The real `baton gateway` binary: flags reach the configuration, and the CLI's client passes the
/// gateway's request rules.
@Suite("baton gateway process")
struct GatewayProcessTests {
    static func status(_ method: String, _ url: String, token: String?, contentType: String? = nil) async throws -> Int {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    @Test("--api-token is honoured, and `baton jobs` sends a JSON content type on bodyless POSTs")
    func apiTokenFlag() async throws {
        let workspace = try Workspace()
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        let gateway = try BatonProcess(
            [
                "gateway", "--api-token", "flag-token", "--http-bind", "127.0.0.1:\(port)", "--db", workspace.databasePath,
                "--schedulers", "tcp://127.0.0.1:\(freePort())",
            ],
            environment: [:], directory: workspace.directory, name: "gateway")
        defer { gateway.signal(SIGKILL) }
        let up = await eventually(timeout: .seconds(30)) {
            guard gateway.isRunning else { return true }
            return (try? await Self.status("GET", base + "/healthz", token: nil)) == 200
        }
        try #require(up && gateway.isRunning, "the gateway did not answer /healthz: \(gateway.log)")

        #expect(try await Self.status("GET", base + "/v1/jobs", token: nil) == 401)
        #expect(try await Self.status("GET", base + "/v1/jobs", token: "wrong") == 401)
        #expect(try await Self.status("GET", base + "/v1/jobs", token: "flag-token") == 200)

        let client = GatewayClient(base: try #require(URL(string: base)), token: "flag-token")
        let spec = #"{"name": "cli", "schedule": {"every": "1h"}, "action": {"noop": {}}}"#
        #expect(try await client.send("POST", "/v1/jobs", body: Data(spec.utf8)).status == 201)
        #expect(try await Self.status("POST", base + "/v1/jobs/cli/pause", token: "flag-token") == 415)
        #expect(try await client.send("POST", "/v1/jobs/cli/pause").object["state"] as? String == "paused")
        #expect(try await client.send("POST", "/v1/jobs/cli/trigger").status == 202)
        #expect(try await client.send("DELETE", "/v1/jobs/cli").status == 204)

        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
    }

    /// The three roles validate the same way: a bad setting exits 2 with a line naming the env var and the flag,
    /// before anything starts (the gateway exited 64, ArgumentParser's status, for a bad bind address).
    @Test(arguments: [
        (["gateway", "--http-bind", "nowhere"], [:], "BATON_HTTP_BIND / --http-bind"),
        (["gateway"], ["BATON_ALLOW_COMMANDS": "maybe"], "BATON_ALLOW_COMMANDS"),
        (["scheduler"], ["BATON_LEASE_TTL": "1ms"], "BATON_LEASE_TTL"),
        (["executor"], ["BATON_EXECUTOR_CAPACITY": "0"], "BATON_EXECUTOR_CAPACITY"),
        // Validated on SQLite too, which ignores them: a typo is caught before the day the URL changes.
        (["executor"], ["BATON_DB_POOL": "0"], "BATON_DB_POOL / --db-pool must be from 1 to 1000"),
        (["gateway"], ["BATON_DB_POOL": "1001"], "BATON_DB_POOL / --db-pool must be from 1 to 1000"),
        (["scheduler"], ["BATON_DB_POOL": "many"], "BATON_DB_POOL"),
        (["scheduler"], ["BATON_DB_STATEMENT_TIMEOUT": "10ms"], "BATON_DB_STATEMENT_TIMEOUT / --db-statement-timeout"),
        (["gateway"], ["BATON_DB_CONNECT_TIMEOUT": "2h"], "BATON_DB_CONNECT_TIMEOUT / --db-connect-timeout"),
    ] as [([String], [String: String], String)])
    func invalidSettingsExitTwoNamingTheSetting(_ arguments: [String], _ environment: [String: String], _ named: String) async throws {
        let workspace = try Workspace()
        let process = try BatonProcess(
            arguments + ["--db", workspace.databasePath], environment: environment, directory: workspace.directory,
            name: arguments[0])
        defer { process.signal(SIGKILL) }
        #expect(await process.waitForExit() == 2, "\(process.log)")
        #expect(process.log.contains(named), "\(process.log)")
    }
}
