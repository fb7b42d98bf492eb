import BatonPostgres
import Executor
import Foundation
import Gateway
import Scheduler
import Testing

@testable import baton

/// Issue 13 item 4: each role's defaults are written once, in its configuration's initialiser. The help text reads
/// them from `…Configuration.defaults`, and Docs/Configuration.md must say the same, or this test names the row.
@Suite("Configuration defaults: one value for help text, docs and initialisers")
struct ConfigurationDefaultsTests {
    static let scheduler = SchedulerConfiguration.defaults
    static let executor = ExecutorConfiguration.defaults
    static let gateway = GatewayConfiguration.defaults

    static let cases: [(command: String, env: String, value: String)] = [
        ("scheduler", "BATON_DISPATCH_BIND", scheduler.dispatchBind),
        ("scheduler", "BATON_LEASE_TTL", "\(scheduler.leaseTTL)"),
        ("scheduler", "BATON_REDELIVER_AFTER", "\(scheduler.redeliverAfter)"),
        ("scheduler", "BATON_RETENTION", "\(scheduler.retention)"),
        ("scheduler", "BATON_HISTORY_PER_JOB", "\(scheduler.historyPerJob)"),
        ("executor", "BATON_SCHEDULERS", executor.schedulers.joined(separator: ",")),
        ("executor", "BATON_EXECUTOR_CAPACITY", "\(executor.capacity)"),
        ("executor", "BATON_CLAIM_TTL", "\(executor.claimTTL)"),
        ("executor", "BATON_QUEUES", executor.queues.joined(separator: ",")),
        ("executor", "BATON_SHUTDOWN_GRACE", "\(executor.shutdownGrace)"),
        ("gateway", "BATON_HTTP_BIND", "\(gateway.bind)"),
        ("gateway", "BATON_SCHEDULERS", gateway.schedulers.joined(separator: ",")),
        ("scheduler", "BATON_DB_STATEMENT_TIMEOUT", "\(PostgresConnectionSettings.defaultStatementTimeout)"),
        ("executor", "BATON_DB_CONNECT_TIMEOUT", "\(PostgresConnectionSettings.defaultStartupWait)"),
    ]

    static func help(_ command: String) -> String {
        switch command {
        case "scheduler": SchedulerCommand.helpMessage(columns: 10_000)
        case "executor": ExecutorCommand.helpMessage(columns: 10_000)
        default: GatewayCommand.helpMessage(columns: 10_000)
        }
    }

    @Test func helpTextStatesEachDefault() {
        for (command, env, value) in Self.cases {
            #expect(Self.help(command).contains("env \(env), default \(value))"), "baton \(command) --help, \(env)")
        }
    }

    /// `BATON_DB_POOL` has one default per role: the help text and the configuration page give each.
    @Test func thePoolDefaultOfEachRoleIsStatedOnce() throws {
        let stated = "default scheduler \(DatabaseRole.scheduler.defaultPool), executor \(DatabaseRole.executor.defaultPool), "
            + "gateway \(DatabaseRole.gateway.defaultPool)"
        for command in ["scheduler", "executor", "gateway"] {
            #expect(Self.help(command).contains("env BATON_DB_POOL, \(stated);"), "baton \(command) --help")
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("Docs/Configuration.md"), encoding: .utf8)
        let row = page.split(separator: "\n").first { $0.hasPrefix("| `--db-pool` |") }
        #expect(row?.contains("| `BATON_DB_POOL` | scheduler `\(DatabaseRole.scheduler.defaultPool)`, executor `\(DatabaseRole.executor.defaultPool)`, gateway `\(DatabaseRole.gateway.defaultPool)` |") == true, "\(String(describing: row))")
    }

    /// Each setting's row in the role's table (`| --flag | ENV | default | … |`) gives the same default.
    @Test func theConfigurationPageStatesEachDefault() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("Docs/Configuration.md"), encoding: .utf8)
        let rows = page.split(separator: "\n").filter { $0.hasPrefix("| `--") }
        for (command, env, value) in Self.cases {
            let matching = rows.filter { $0.contains("| `\(env)` |") }
            #expect(!matching.isEmpty, "no row for \(env) (baton \(command))")
            #expect(matching.allSatisfy { $0.contains("| `\(env)` | `\(value)` |") }, "\(env): \(matching)")
        }
    }
}
