import BatonCore
import BatonSQLite
import BatonStore
import BatonTestSupport
import Foundation
import Testing

/// `baton executor` as a real child process: the binary `swift build --build-tests` puts beside the test bundle.
@Suite("baton executor command")
struct ExecutorCommandTests {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("baton")
    }

    static func launch(_ arguments: [String], environment: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        let binary = Self.binary
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the baton binary first")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"].merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return (process, out, err)
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        let (process, out, err) = try launch(arguments, environment: environment)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test func helpListsTheOptions() throws {
        let outcome = try Self.run(["executor", "--help"])
        #expect(outcome.status == 0)
        for option in ["--schedulers", "--executor-capacity", "--claim-ttl", "--allow-commands", "--queues", "--db"] {
            #expect(outcome.stdout.contains(option), "help mentions \(option)")
        }
    }

    @Test(arguments: [
        (["executor"], ["BATON_EXECUTOR_CAPACITY": "0"], "BATON_EXECUTOR_CAPACITY"),
        (["executor", "--schedulers", "not-an-endpoint"], [:], "not-an-endpoint"),
        (["executor", "--claim-ttl", "1s"], [:], "BATON_CLAIM_TTL"),
        (["executor"], ["BATON_ALLOW_COMMANDS": "maybe"], "BATON_ALLOW_COMMANDS"),
        (["executor", "--queues", "Bad Queue"], [:], "BATON_QUEUES"),
        (["executor"], ["BATON_HTTP_DENY": "169.254.0.0/16,10.0.0.0/33"], "BATON_HTTP_DENY"),
        (["executor", "--http-deny", "metadata.internal"], [:], "BATON_HTTP_DENY"),
        (["executor"], ["BATON_HTTP_DENY": "169.254.1.1/16"], "169.254.1.1/16"),
        (["executor", "--http-allow-link-local"], ["BATON_HTTP_DENY": "10.0.0.0/8"], "set one, not both"),
    ])
    func badConfigurationExitsWithAClearMessage(arguments: [String], environment: [String: String], mentions: String) throws {
        let outcome = try Self.run(arguments, environment: environment.merging(["BATON_DB": "/nonexistent/never/used.sqlite"]) { $1 })
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains(mentions), "stderr: \(outcome.stderr)")
    }

    @Test func sigtermStopsARunningExecutorCleanly() async throws {
        let directory = try TemporaryDirectory("exec-cmd")
        defer { directory.remove() }
        let path = directory.databasePath
        let id = "cmd-\(UUID().uuidString.prefix(8))"
        let (process, _, _) = try Self.launch(
            ["executor", "--schedulers", "tcp://127.0.0.1:1", "--executor-id", id, "--log-level", "error"],
            environment: ["BATON_DB": path])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let database = try BatonDatabase(StoreConfiguration(path: path))
        try database.migrate()
        let nodes = SQLiteNodeStore(database)
        try await waitUntil("registered") { try await nodes.executors(seenSince: Timestamp(milliseconds: 0)).contains { $0.id == id } }
        process.terminate()
        try await waitUntil("exited") { !process.isRunning }
        #expect(process.terminationStatus == 0)
        #expect(try await nodes.executors(seenSince: Timestamp(milliseconds: 0)).contains { $0.id == id } == false)
    }
}
