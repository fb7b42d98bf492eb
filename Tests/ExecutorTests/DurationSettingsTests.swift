import BatonTestSupport
import Foundation
import Testing

/// Issue 12 item 2: a duration setting beyond its bound stops the role at start with exit 2 and a message naming the
/// env var and the flag, instead of overflowing later (BATON_REDELIVER_AFTER × 30 trapped in the leader).
@Suite("Duration settings are bounded")
struct DurationSettingsTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var environment: [String: String] = [:]
        var mentions: [String]
        var testDescription: String { (arguments + environment.map { "\($0)=\($1)" }).joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(arguments: ["scheduler", "--redeliver-after", "106751991167d"], mentions: ["BATON_REDELIVER_AFTER", "--redeliver-after", "from 100ms to 1h"]),
        Case(arguments: ["scheduler"], environment: ["BATON_REDELIVER_AFTER": "9223372036854775808ms"], mentions: ["BATON_REDELIVER_AFTER", "from 100ms to 1h"]),
        Case(arguments: ["scheduler", "--redeliver-after", "1h1ms"], mentions: ["BATON_REDELIVER_AFTER", "--redeliver-after"]),
        Case(arguments: ["scheduler", "--lease-ttl", "1d1ms"], mentions: ["BATON_LEASE_TTL", "--lease-ttl", "from 3s to 1d"]),
        Case(arguments: ["scheduler"], environment: ["BATON_RETENTION": "36500d1ms"], mentions: ["BATON_RETENTION", "--retention", "from 1m to 36500d"]),
        Case(arguments: ["executor", "--claim-ttl", "106751991167d"], mentions: ["BATON_CLAIM_TTL", "--claim-ttl", "from 3s to 1d"]),
        Case(arguments: ["executor"], environment: ["BATON_SHUTDOWN_GRACE": "7d1ms"], mentions: ["BATON_SHUTDOWN_GRACE", "--shutdown-grace", "from 0s to 7d"]),
    ]

    @Test(arguments: DurationSettingsTests.cases)
    func overBoundDurationExitsTwoNamingTheSetting(_ example: Case) async throws {
        // A real, writable database and a private endpoint: without the bound the role would start and keep running.
        let directory = try TemporaryDirectory("bounds")
        defer { directory.remove() }
        var environment = example.environment
        environment["BATON_DB"] = directory.databasePath
        environment["BATON_DISPATCH_BIND"] = "ipc://\(directory.path)/dispatch"
        environment["BATON_SCHEDULERS"] = "ipc://\(directory.path)/dispatch"
        let (process, _, err) = try ExecutorCommandTests.launch(example.arguments, environment: environment)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))  // poll interval of a wait bounded by `deadline`
        }
        let exited = !process.isRunning
        if !exited {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(exited, "still running after 20 s: the setting was accepted")
        #expect(process.terminationStatus == 2, "stderr: \(stderr)")
        for words in example.mentions {
            #expect(stderr.contains(words), "stderr: \(stderr)")
        }
    }
}
