import ArgumentParser

// Roles and clients that later milestones implement. Until then each says so and exits 1:
// nothing here may pretend to work.

protocol PendingCommand: ParsableCommand {}

extension PendingCommand {
    func run() throws {
        try reportingFailures { throw CLIFailure.notYetAvailable(Self.configuration.commandName ?? "command") }
    }
}

struct GatewayCommand: PendingCommand {
    static let configuration = CommandConfiguration(commandName: "gateway", abstract: "Run the HTTP API.")
}

struct Jobs: PendingCommand {
    static let configuration = CommandConfiguration(abstract: "Manage jobs through the gateway.")
}

struct Tickets: PendingCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect tickets through the gateway.")
}
