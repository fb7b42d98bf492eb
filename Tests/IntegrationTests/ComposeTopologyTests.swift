import BatonCore
import BatonPostgresTestSupport
import BatonStore
import BatonTestSupport
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

let composeAvailable =
    FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-compose")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

/// No Docker engine runs here, so each compose topology runs as local processes: the services, commands
/// and environment variables are read from `docker-compose config` itself, and only what a container
/// network would provide is rewritten (service host names → 127.0.0.1 with distinct ports, `/data` and the
/// secrets' files → a temporary directory, `0.0.0.0` → loopback). compose.yml's `postgres` service is a private
/// PostgreSQL cluster of the test's own (its `baton` database), and its one-off `keys` service is `baton
/// dispatch-keys` into the directory its secrets name.
@Suite(
    "compose files as local processes", .serialized, .timeLimit(.minutes(3)),
    .enabled(if: composeAvailable, "docker-compose and /usr/bin/python3 with PyYAML are needed to read the compose files"))
struct ComposeTopologyTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Service: Decodable {
        var command: [String]?
        var environment: [String: String]
    }

    struct Project: Decodable {
        var services: [String: Service]
        /// Secret name → the file compose mounts at `/run/secrets/<name>`.
        var secrets: [String: String]
    }

    /// The resolved compose file as JSON: `docker-compose config` piped through PyYAML.
    static func project(_ file: String, token: String) throws -> Project {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c",
            #"docker-compose -f "$0" config | /usr/bin/python3 -c 'import yaml,json,sys; d=yaml.safe_load(sys.stdin); print(json.dumps({"services": {k: {"command": v.get("command"), "environment": v.get("environment", {})} for k, v in d["services"].items()}, "secrets": {k: v["file"] for k, v in d.get("secrets", {}).items()}}))'"#,
            file,
        ]
        process.currentDirectoryURL = packageRoot
        process.environment = ["PATH": "/usr/bin:/bin", "BATON_API_TOKEN": token, "POSTGRES_PASSWORD": "compose-check"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return try JSONDecoder().decode(Project.self, from: data)
    }

    func request(_ method: String, _ url: String, token: String, body: String? = nil) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let body { request.httpBody = Data(body.utf8) }
        // The gateway wants a JSON content type on every unsafe request, body or not.
        if method != "GET" { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    @Test(arguments: ["compose.sqlite.yml", "compose.yml"])
    func theComposeTopologyRunsAJobOnceAndReportsItsLeaderAndStandby(file: String) async throws {
        let token = "topology-\(UUID().uuidString)"
        let project = try Self.project(file, token: token)
        let services = project.services
        let onPostgres = services["postgres"] != nil
        let roles: Set<String> = ["keys", "migrate", "scheduler-a", "scheduler-b", "executor", "gateway"]
        #expect(Set(services.keys) == (onPostgres ? roles.union(["postgres"]) : roles))
        let workspace = try Workspace()
        let ports = ["scheduler-a": freePort(), "scheduler-b": freePort()]
        let httpPort = freePort()
        var metricsAddresses: [String: String] = [:]
        // compose.yml: the `postgres` service, and the key files its secrets name.
        let keysDirectory = workspace.directory.appendingPathComponent("keys").path
        var database: (cluster: PostgresCluster, url: String)?
        if onPostgres {
            let cluster = try await PostgresCluster.makePrivate()
            try await cluster.createDatabase("baton")
            database = (cluster, cluster.url(database: "baton"))
        }
        func localize(_ environment: [String: String]) -> [String: String] {
            environment.mapValues { value in
                var value = value.replacingOccurrences(of: "/data/", with: workspace.directory.path + "/")
                for (host, port) in ports { value = value.replacingOccurrences(of: "\(host):7710", with: "127.0.0.1:\(port)") }
                for (name, source) in project.secrets where value == "/run/secrets/\(name)" {
                    value = keysDirectory + "/" + URL(fileURLWithPath: source).lastPathComponent
                }
                if let database, value.hasPrefix("postgres://") { value = database.url }
                return value
            }
        }
        func start(_ name: String, as instance: String? = nil, extra: [String: String] = [:]) throws -> BatonProcess {
            let service = try #require(services[name])
            var environment = localize(service.environment).merging(extra) { _, new in new }
            if environment["BATON_DISPATCH_BIND"] != nil, let port = ports[name] {
                environment["BATON_DISPATCH_BIND"] = "tcp://127.0.0.1:\(port)"
            }
            if environment["BATON_HTTP_BIND"] != nil { environment["BATON_HTTP_BIND"] = "127.0.0.1:\(httpPort)" }
            if environment["BATON_METRICS_BIND"] != nil {
                let address = "127.0.0.1:\(freePort())"
                environment["BATON_METRICS_BIND"] = address
                metricsAddresses[instance ?? name] = address
            }
            // compose.yml's `keys` runs a shell as root to hand the files to the image's user: here, the command alone.
            let command =
                name == "keys" && onPostgres
                ? ["dispatch-keys", "--dir", keysDirectory]
                : (service.command ?? []).map { $0.replacingOccurrences(of: "/data/", with: workspace.directory.path + "/") }
            return try BatonProcess(command, environment: environment, directory: workspace.directory, name: instance ?? name)
        }

        let keys = try start("keys")
        #expect(await keys.waitForExit() == 0)
        let migrate = try start("migrate")
        #expect(await migrate.waitForExit() == 0)
        var processes = [try start("scheduler-a"), try start("scheduler-b"), try start("gateway")]
        for n in 1...3 { processes.append(try start("executor", as: "executor-\(n)")) }
        defer { for process in processes { process.signal(SIGKILL) } }

        let base = "http://127.0.0.1:\(httpPort)"
        #expect(await eventually(timeout: .seconds(20)) {
            (try? await request("GET", base + "/v1/scheduler", token: token).0) == 200
        })
        let (created, _) = try await request(
            "POST", base + "/v1/jobs", token: token,
            body: #"{"name": "compose-check", "schedule": {"every": "1h"}, "action": {"noop": {}}}"#)
        #expect(created == 201)
        let (triggered, body) = try await request("POST", base + "/v1/jobs/compose-check/trigger", token: token)
        #expect(triggered == 202)
        let ticket = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        let id = try #require(ticket["id"] as? String)
        #expect(try await eventually(timeout: .seconds(20)) {
            let (_, data) = try await request("GET", base + "/v1/tickets/\(id)", token: token)
            return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["state"] as? String == "succeeded"
        })
        // One scheduler leads, the other stands by, both found through the API.
        #expect(try await eventually(timeout: .seconds(10)) {
            let (_, data) = try await request("GET", base + "/v1/scheduler", token: token)
            let status = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            let leader = (status?["leader"] as? [String: Any])?["id"] as? String
            let standbys = (status?["standbys"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            return leader.map { Set([$0] + standbys) == ["scheduler-a", "scheduler-b"] } ?? false
        })
        // The dispatch link is CURVE-authenticated with the keys the `keys` service made.
        for process in processes where process.role.hasPrefix("scheduler") {
            #expect(process.log.contains("curve, server key"), "\(process.role) log: \(process.log.prefix(1500))")
        }
        for process in processes where process.role.hasPrefix("executor") {
            #expect(process.log.contains("curve, client key"), "\(process.role) log: \(process.log.prefix(1500))")
        }
        // Every scheduler and executor answers the healthcheck compose gives it.
        #expect(metricsAddresses.count == 5)
        for (name, address) in metricsAddresses.sorted(by: { $0.key < $1.key }) {
            let ready = await eventually(timeout: .seconds(10)) {
                guard let url = URL(string: "http://\(address)/readyz") else { return false }
                return (try? await URLSession.shared.data(from: url).1 as? HTTPURLResponse)?.statusCode == 200
            }
            #expect(ready, "\(name) /readyz did not answer 200")
        }
        // Each file ran on its own backend: an SQLite file in the data directory only for compose.sqlite.yml.
        let files = (try? FileManager.default.contentsOfDirectory(atPath: workspace.directory.path)) ?? []
        #expect(files.contains { $0.hasSuffix(".sqlite") } == !onPostgres, "\(file): data directory holds \(files)")
        // Commands are off in compose: the gateway refuses a command job.
        let (refused, _) = try await request(
            "POST", base + "/v1/jobs", token: token,
            body: #"{"name": "cmd", "schedule": {"every": "1h"}, "action": {"command": {"argv": ["/bin/true"]}}}"#)
        #expect(refused == 422)

        for process in processes { process.signal(SIGTERM) }
        for process in processes { #expect(await process.waitForExit() == 0, "\(process.role) log: \(process.log.suffix(1500))") }
    }
}
