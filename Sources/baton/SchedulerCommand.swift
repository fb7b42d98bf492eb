import ArgumentParser
import BatonCore
import BatonPostgres
import BatonSQLite
import BatonStore
import Logging
import Scheduler
import ServiceLifecycle
import Foundation

/// `baton scheduler`: one scheduler process, leader or standby.
struct SchedulerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduler",
        abstract: "Run a scheduler: elects a leader through the database, writes tickets and dispatches them.",
        discussion: "Run two or more for high availability; a standby takes over within TTL + 2 s of a crash."
    )

    @OptionGroup var common: CommonOptions

    @OptionGroup var metrics: MetricsOptions

    @OptionGroup var dispatchSecurity: DispatchServerOptions

    @Option(help: "ZeroMQ ROUTER endpoint to bind (env BATON_DISPATCH_BIND, default \(SchedulerConfiguration.defaults.dispatchBind)).")
    var dispatchBind: String?

    @Option(help: "Leader lease TTL, at least 3s (env BATON_LEASE_TTL, default \(SchedulerConfiguration.defaults.leaseTTL)).")
    var leaseTTL: String?

    @Option(help: "Re-send pending tickets not claimed within this (env BATON_REDELIVER_AFTER, default \(SchedulerConfiguration.defaults.redeliverAfter)).")
    var redeliverAfter: String?

    @Option(help: "Delete finished tickets older than this (env BATON_RETENTION, default \(SchedulerConfiguration.defaults.retention)).")
    var retention: String?

    @Option(help: "Keep at most this many finished tickets per job (env BATON_HISTORY_PER_JOB, default \(SchedulerConfiguration.defaults.historyPerJob)).")
    var historyPerJob: Int?

    @Option(help: "Unique scheduler id (env BATON_SCHEDULER_ID, default host-pid-random).")
    var schedulerID: String?

    func run() async throws {
        let configuration = try reportingFailures { try schedulerConfiguration() }

        let logger = try common.logger(role: "scheduler")
        let database = try await common.openDatabase(for: .scheduler, logger: logger)
        let metricsEndpoint = try metrics.endpoint(logger: logger, health: database.stores.health)
        let services = metricsEndpoint
            + (try SchedulerServices.make(configuration: configuration, stores: database.stores, clock: database.stores.clock, logger: logger))
        logger.info(
            "scheduler starting",
            metadata: ["id": "\(configuration.id)", "db": "\(database.description)", "bind": "\(configuration.dispatchBind)"])
        try await ServiceGroup(
            services: database.serviceGroup(services), gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
        ).run()
    }

    /// Flags, then `BATON_*` variables, then defaults. An invalid value exits 2 (like every other usage error) with
    /// one line per problem naming the env var and the flag; ArgumentParser's own ValidationError would exit 64.
    func schedulerConfiguration() throws -> SchedulerConfiguration {
        do {
            let defaults = SchedulerConfiguration.defaults
            var configuration = SchedulerConfiguration(
                id: Settings.optionalString(schedulerID, env: "BATON_SCHEDULER_ID"),
                dispatchBind: Settings.string(dispatchBind, env: "BATON_DISPATCH_BIND", default: defaults.dispatchBind))
            configuration.leaseTTL = try Settings.span(leaseTTL, env: "BATON_LEASE_TTL", default: defaults.leaseTTL, in: TimeBounds.leaseTTL)
            configuration.redeliverAfter = try Settings.span(
                redeliverAfter, env: "BATON_REDELIVER_AFTER", default: defaults.redeliverAfter, in: TimeBounds.redeliverAfter)
            configuration.retention = try Settings.span(retention, env: "BATON_RETENTION", default: defaults.retention, in: TimeBounds.retention)
            configuration.historyPerJob = try Settings.int(
                historyPerJob, env: "BATON_HISTORY_PER_JOB", default: defaults.historyPerJob, in: 1...1_000_000)
            configuration.metricsJobLabels = try metrics.jobLabels()
            configuration.dispatchKeys = try dispatchSecurity.keys()
            configuration.dispatchClientKeys = try dispatchSecurity.clientKeys()
            configuration.dispatchInsecure = try Settings.bool(
                dispatchSecurity.dispatchInsecure, env: "BATON_DISPATCH_INSECURE", default: false)
            configuration.maximumPeers = try Settings.int(
                dispatchSecurity.dispatchMaxPeers, env: "BATON_DISPATCH_MAX_PEERS", default: defaults.maximumPeers, in: 1...65536)
            let problems = configuration.validate()
            guard problems.isEmpty else { throw ValidationError(problems.joined(separator: "\n")) }
            return configuration
        } catch let error as ValidationError {
            throw CLIFailure.usage(error.message)
        }
    }
}

/// `baton migrate`: create or upgrade the schema (every role also does this on start); with `--from` and `--to`, copy
/// an SQLite database into PostgreSQL (`SQLiteToPostgres`).
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or upgrade the database schema, or copy an SQLite database into PostgreSQL.",
        discussion: """
            baton migrate --from sqlite:PATH --to postgres://user:password@host:port/database copies jobs, revisions, \
            watermarks, tickets with their attempts and idempotency keys, in one transaction, into a PostgreSQL database \
            that holds no jobs. Stop every Baton process first (Docs/Operations.md).
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Copy from this SQLite file (sqlite:PATH or a path), read-only; it must be at this build's schema.")
    var from: String?

    @Option(help: "Copy into this PostgreSQL database (postgres:// or postgresql:// URL); it is migrated first and must hold no jobs.")
    var to: String?

    func run() async throws {
        let logger = try common.logger(role: "migrate")
        if from != nil || to != nil {
            let copy = try reportingFailures { try copyRequest() }
            try await copy.run(logger: logger)
            return
        }
        let location = try reportingFailures { try common.databaseLocation() }
        switch location {
        case .sqlite:
            let database = try common.openDatabase(logger: logger)
            logger.info("schema is current", metadata: ["db": "\(database.description)"])
        case .postgres(let url):
            try await PostgresMigration.run(url, logger: logger)
            logger.info("schema is current", metadata: ["db": "\(url)"])
        }
    }
}

extension Migrate {
    /// `--from` and `--to`, which name both databases: `--db` has no place beside them.
    func copyRequest() throws(CLIFailure) -> SQLiteToPostgres {
        guard common.database == nil else { throw .usage("--db does not go with --from and --to") }
        return try SQLiteToPostgres.parse(from: from, to: to)
    }
}

/// `baton backup --to FILE`: a consistent copy of the live database (`VACUUM INTO`), safe while Baton runs.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Copy the live database to a file, consistently, while Baton runs.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Destination file; must not exist yet.")
    var to: String

    func run() async throws {
        let logger = try common.logger(role: "backup")
        guard !FileManager.default.fileExists(atPath: to) else { throw ValidationError("\(to) already exists") }
        let database = try BatonDatabase(try common.sqliteConfiguration(for: "backup"))
        try await database.backup(to: to)
        logger.info("backup written", metadata: ["to": "\(to)", "db": "\(database.configuration.path)"])
    }
}
