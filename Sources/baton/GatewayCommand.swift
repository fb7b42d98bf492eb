import ArgumentParser
import BatonCore
import BatonRuntime
import BatonSQLite
import Foundation
import Gateway
import Hummingbird
import ServiceLifecycle

/// `baton gateway`: the HTTP API (CONTRACT §9). Migrates on start, then serves until SIGTERM or SIGINT,
/// letting in-flight requests finish.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gateway", abstract: "Run the HTTP API.")

    @OptionGroup var common: CommonOptions

    @OptionGroup var dispatchSecurity: DispatchClientOptions

    @Option(name: .customLong("http-bind"), help: "host:port to listen on (env BATON_HTTP_BIND, default \(GatewayConfiguration.defaults.bind)).")
    var httpBind: String?

    @Option(
        name: .customLong("api-token"),
        help: "Bearer token required on everything but /healthz and /readyz (env BATON_API_TOKEN, default none: loopback binds only; the env var keeps it out of `ps`).")
    var apiToken: String?

    @Option(
        name: .customLong("api-read-token"),
        help: "A second bearer token that may only read: GET and HEAD on the API, the console without its actions (env BATON_API_READ_TOKEN, default none; needs --api-token).")
    var apiReadToken: String?

    @Option(help: "Comma list of scheduler endpoints told about manual triggers (env BATON_SCHEDULERS, default \(GatewayConfiguration.defaults.schedulers.joined(separator: ","))).")
    var schedulers: String?

    @Option(name: .customLong("allow-commands"), help: "Accept command jobs: true or false (env BATON_ALLOW_COMMANDS, default \(GatewayConfiguration.defaults.allowCommands)).")
    var allowCommands: Bool?

    func run() async throws {
        let configuration = try reportingFailures { try gatewayConfiguration() }
        let logger = try common.logger(role: "gateway")
        // The composition root: this process's backend, opened and migrated here (every role migrates on start).
        let database = try await common.openDatabase(for: .gateway, logger: logger)
        let registry = BatonMetrics.bootstrap()
        let app = try await buildApplication(
            configuration, stores: database.stores, registry: registry, clock: database.stores.clock, logger: logger)
        logger.info(
            "gateway listening",
            metadata: ["bind": "\(configuration.bind)", "auth": "\(configuration.apiToken == nil ? "off (loopback only)" : "bearer")"])
        let group = ServiceGroup(
            configuration: .init(services: database.serviceGroup([app]), gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Flags, then `BATON_*` variables, then defaults, validated before anything starts. Like the scheduler and the
    /// executor, an invalid value exits 2 naming the env var and the flag (ArgumentParser's ValidationError: 64).
    func gatewayConfiguration() throws -> GatewayConfiguration {
        do {
            let defaults = GatewayConfiguration.defaults
            let bindText = Settings.string(httpBind, env: "BATON_HTTP_BIND", default: "\(defaults.bind)")
            let bind: ListenAddress
            do {
                bind = try ListenAddress(parsing: bindText)
            } catch {
                throw ValidationError("BATON_HTTP_BIND / --http-bind: \(error.description)")
            }
            var configuration = GatewayConfiguration(
                bind: bind,
                apiToken: Settings.optionalString(apiToken, env: "BATON_API_TOKEN"),
                apiReadToken: Settings.optionalString(apiReadToken, env: "BATON_API_READ_TOKEN"),
                schedulers: Settings.list(schedulers, env: "BATON_SCHEDULERS", default: defaults.schedulers),
                allowCommands: try Settings.bool(allowCommands, env: "BATON_ALLOW_COMMANDS", default: defaults.allowCommands))
            configuration.dispatchKeys = try dispatchSecurity.keys()
            configuration.dispatchServerKey = try dispatchSecurity.serverKey()
            _ = try common.storeConfiguration()
            _ = try common.databaseLocation()
            do {
                try configuration.validate()
            } catch {
                throw ValidationError(error.description)
            }
            return configuration
        } catch let error as ValidationError {
            throw CLIFailure.usage(error.message)
        }
    }
}
