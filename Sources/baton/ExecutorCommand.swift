import ArgumentParser
import BatonCore
import BatonSQLite
import BatonStore
import Executor
import Foundation
import ServiceLifecycle

/// `baton executor`: claims tickets the schedulers offer and runs their actions (CONTRACT §2, §3, §8).
struct ExecutorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "executor",
        abstract: "Run an executor: claim tickets from the schedulers and run their actions.",
        discussion: """
            Every option is also an environment variable (BATON_ + the option in upper snake case); flags win. \
            SIGTERM or SIGINT stops taking tickets, lets running actions finish for --shutdown-grace, hands back \
            the rest to another executor, and exits.
            """
    )

    @OptionGroup var common: CommonOptions

    @OptionGroup var metrics: MetricsOptions

    @OptionGroup var dispatchSecurity: DispatchClientOptions

    @Option(help: "Comma-separated scheduler endpoints (env BATON_SCHEDULERS, default \(ExecutorConfiguration.defaults.schedulers.joined(separator: ","))).")
    var schedulers: String?

    @Option(help: "Concurrent tickets, 1 to 1024 (env BATON_EXECUTOR_CAPACITY, default \(ExecutorConfiguration.defaults.capacity)).")
    var executorCapacity: Int?

    @Option(name: .customLong("claim-ttl"), help: "Claim lease, renewed every third of it (env BATON_CLAIM_TTL, default \(ExecutorConfiguration.defaults.claimTTL)).")
    var claimTTL: String?

    @Flag(inversion: .prefixedNo, help: "Run command actions; off, they fail with commands_disabled (env BATON_ALLOW_COMMANDS, default \(ExecutorConfiguration.defaults.allowCommands)).")
    var allowCommands: Bool?

    @Option(help: "Comma-separated queues to serve (env BATON_QUEUES, default \(ExecutorConfiguration.defaults.queues.joined(separator: ","))).")
    var queues: String?

    @Flag(
        name: .customLong("http-allow-link-local"), inversion: .prefixedNo,
        help: "Drop 169.254.0.0/16 and fe80::/10 from the default --http-deny (env BATON_HTTP_ALLOW_LINK_LOCAL, default false).")
    var httpAllowLinkLocal: Bool?

    @Option(
        name: .customLong("http-deny"),
        help: """
            Comma-separated CIDR blocks HTTP actions may not connect to, or none (env BATON_HTTP_DENY, \
            default 169.254.0.0/16,fe80::/10,fd00:ec2::254/128,100.100.100.200/32).
            """)
    var httpDeny: String?

    @Option(name: .customLong("executor-id"), help: "This executor's id (env BATON_EXECUTOR_ID, default <host>-<pid>-<random>).")
    var executorID: String?

    @Option(help: "How long running actions may finish on shutdown before they are handed back (env BATON_SHUTDOWN_GRACE, default \(ExecutorConfiguration.defaults.shutdownGrace)).")
    var shutdownGrace: String?

    func run() async throws {
        try await reportingFailures {
            let configuration = try executorConfiguration()
            let logger = try common.logger(role: "executor")
            let database = try await common.openDatabase(for: .executor, logger: logger)
            let metricsEndpoint = try metrics.endpoint(logger: logger, health: database.stores.health)
            let service = ExecutorService(configuration: configuration, stores: database.stores, logger: logger)
            let publishers: [any Service] = metricsEndpoint.isEmpty ? [] : [ExecutorMetricsPublisher(executor: service)]
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: database.serviceGroup(metricsEndpoint + [service] + publishers), gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger))
            try await group.run()
        }
    }

    /// Flags, then `BATON_*` variables, then defaults; every invalid value is reported before anything starts.
    func executorConfiguration() throws -> ExecutorConfiguration {
        var configuration = ExecutorConfiguration()
        do {
            let defaults = ExecutorConfiguration.defaults
            configuration.schedulers = Settings.list(schedulers, env: "BATON_SCHEDULERS", default: defaults.schedulers)
            configuration.capacity = try Settings.int(executorCapacity, env: "BATON_EXECUTOR_CAPACITY", default: defaults.capacity, in: 1...1024)
            configuration.claimTTL = try Settings.span(claimTTL, env: "BATON_CLAIM_TTL", default: defaults.claimTTL, in: TimeBounds.claimTTL)
            configuration.allowCommands = try Settings.bool(allowCommands, env: "BATON_ALLOW_COMMANDS", default: defaults.allowCommands)
            configuration.queues = Settings.list(queues, env: "BATON_QUEUES", default: defaults.queues)
            configuration.httpDeny = try Settings.httpDeny(
                httpDeny, allowLinkLocal: try Settings.bool(httpAllowLinkLocal, env: "BATON_HTTP_ALLOW_LINK_LOCAL", default: false))
            if let id = Settings.optionalString(executorID, env: "BATON_EXECUTOR_ID") {
                configuration.executorID = id
            }
            configuration.shutdownGrace = try Settings.span(shutdownGrace, env: "BATON_SHUTDOWN_GRACE", default: defaults.shutdownGrace, in: TimeBounds.shutdownGrace)
            configuration.metricsJobLabels = try metrics.jobLabels()
            configuration.dispatchKeys = try dispatchSecurity.keys()
            configuration.dispatchServerKey = try dispatchSecurity.serverKey()
            _ = try common.storeConfiguration()
            _ = try common.databaseLocation()
            try configuration.validate()
        } catch let error as ValidationError {
            throw CLIFailure.usage(error.message)
        } catch let error as ExecutorConfigurationError {
            throw CLIFailure.usage(error.description)
        }
        return configuration
    }
}

extension Settings {
    /// `BATON_HTTP_DENY`, or the default list; `BATON_HTTP_ALLOW_LINK_LOCAL` only edits the default, so setting both
    /// is refused rather than guessed at.
    static func httpDeny(_ flag: String?, allowLinkLocal: Bool) throws -> HTTPDenyList {
        guard let text = optionalString(flag, env: "BATON_HTTP_DENY") else {
            return allowLinkLocal ? .standardAllowingLinkLocal : .standard
        }
        guard !allowLinkLocal else {
            throw ValidationError(
                "BATON_HTTP_DENY / --http-deny and BATON_HTTP_ALLOW_LINK_LOCAL / --http-allow-link-local: set one, not both "
                    + "(leave 169.254.0.0/16 and fe80::/10 out of BATON_HTTP_DENY to allow link-local addresses)")
        }
        do {
            return try HTTPDenyList(parsing: text)
        } catch {
            throw ValidationError("BATON_HTTP_DENY / --http-deny: \(error.description)")
        }
    }
}
