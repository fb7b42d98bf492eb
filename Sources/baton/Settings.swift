import ArgumentParser
import BatonCore
import BatonPostgres
import BatonRuntime
import BatonSQLite
import Foundation
import Logging

/// Resolves one setting: the flag if given, else `BATON_<NAME>` from the environment, else the default
/// (CONTRACT §3: every option is a flag and an env var; flags win). Invalid values fail at start with
/// a message naming both spellings.
enum Settings {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static func string(_ flag: String?, env: String, default fallback: String) -> String {
        flag ?? environment[env].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
    }

    static func optionalString(_ flag: String?, env: String) -> String? {
        flag ?? environment[env].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A duration within `bounds` (one of `TimeBounds`, documented in Docs/Configuration.md).
    static func span(_ flag: String?, env: String, default fallback: TimeSpan, in bounds: ClosedRange<TimeSpan>) throws -> TimeSpan {
        guard let text = optionalString(flag, env: env) else { return fallback }
        let span: TimeSpan
        do {
            span = try TimeSpan(parsing: text)
        } catch {
            guard error.isTooLarge else { throw ValidationError("\(env) / --\(flagName(env)): \(error.description)") }
            throw ValidationError("\(env) / --\(flagName(env)) must be \(bounds.boundDescription), not \"\(text)\"")
        }
        guard bounds.contains(span) else {
            throw ValidationError("\(env) / --\(flagName(env)) must be \(bounds.boundDescription), not \"\(text)\"")
        }
        return span
    }

    static func int(_ flag: Int?, env: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        let value: Int
        if let flag {
            value = flag
        } else if let text = optionalString(nil, env: env) {
            guard let parsed = Int(text) else { throw ValidationError("\(env): \"\(text)\" is not a whole number") }
            value = parsed
        } else {
            value = fallback
        }
        guard range.contains(value) else {
            throw ValidationError("\(env) / --\(flagName(env)) must be from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    static func bool(_ flag: Bool?, env: String, default fallback: Bool) throws -> Bool {
        if let flag { return flag }
        guard let text = optionalString(nil, env: env)?.lowercased() else { return fallback }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ValidationError("\(env): \"\(text)\" is not true or false")
        }
    }

    static func list(_ flag: String?, env: String, default fallback: [String]) -> [String] {
        guard let text = optionalString(flag, env: env) else { return fallback }
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `BATON_EXECUTOR_CAPACITY` → `executor-capacity`.
    static func flagName(_ env: String) -> String {
        env.dropFirst("BATON_".count).lowercased().replacingOccurrences(of: "_", with: "-")
    }
}

/// Options every role shares: the database and logging.
struct CommonOptions: ParsableArguments {
    @Option(
        name: .customLong("db"),
        help: "SQLite file (a path or sqlite:PATH) or postgres://user:password@host:port/database (env BATON_DB, default ./.baton/baton.sqlite).")
    var database: String?

    @Option(help: "normal or full: full also survives power loss (env BATON_SYNC, default normal).")
    var sync: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (env BATON_LOG_LEVEL, default info).")
    var logLevel: String?

    @Option(help: "text or json (env BATON_LOG_FORMAT, default text).")
    var logFormat: String?

    @Option(
        help: """
            PostgreSQL: the most connections this process opens, 1 to 1000 (env BATON_DB_POOL, default scheduler \
            \(DatabaseRole.scheduler.defaultPool), executor \(DatabaseRole.executor.defaultPool), gateway \
            \(DatabaseRole.gateway.defaultPool); SQLite ignores it).
            """)
    var dbPool: Int?

    @Option(
        help: "PostgreSQL: the server cancels any statement running longer (env BATON_DB_STATEMENT_TIMEOUT, default \(PostgresConnectionSettings.defaultStatementTimeout)).")
    var dbStatementTimeout: String?

    @Option(
        help: "PostgreSQL: how long start-up waits for the server before exiting 2 (env BATON_DB_CONNECT_TIMEOUT, default \(PostgresConnectionSettings.defaultStartupWait)).")
    var dbConnectTimeout: String?

    func storeConfiguration() throws -> StoreConfiguration {
        let path = Settings.string(database, env: "BATON_DB", default: "./.baton/baton.sqlite")
        let syncText = Settings.string(sync, env: "BATON_SYNC", default: "normal")
        guard let mode = StoreConfiguration.Sync(rawValue: syncText) else {
            throw ValidationError("BATON_SYNC / --sync must be normal or full, not \"\(syncText)\"")
        }
        return StoreConfiguration(path: path, sync: mode)
    }

    /// Bootstraps swift-log once per process and returns the role's logger.
    func logger(role: String) throws -> Logger {
        let levelText = Settings.string(logLevel, env: "BATON_LOG_LEVEL", default: "info")
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
            throw ValidationError("BATON_LOG_LEVEL / --log-level: unknown level \"\(levelText)\"")
        }
        let formatText = Settings.string(logFormat, env: "BATON_LOG_FORMAT", default: "text")
        guard let format = BatonLogHandler.Format(rawValue: formatText) else {
            throw ValidationError("BATON_LOG_FORMAT / --log-format must be text or json, not \"\(formatText)\"")
        }
        BatonLogging.bootstrap(format: format, level: level)
        var logger = Logger(label: "baton.\(role)")
        logger.logLevel = level
        logger[metadataKey: "role"] = "\(role)"
        return logger
    }
}
