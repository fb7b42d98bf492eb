import ArgumentParser

// Roles and clients that later milestones implement. Until then each says so and exits 1:
// nothing here may pretend to work.

protocol PendingCommand: ParsableCommand {}

extension PendingCommand {
    func run() throws {
        try reportingFailures { throw CLIFailure.notYetAvailable(Self.configuration.commandName ?? "command") }
    }
}

struct Up: PendingCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scheduler, executors and the gateway locally on one SQLite file.")
}

struct SchedulerCommand: PendingCommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduler", abstract: "Run a scheduler (leader or standby).")
}

struct ExecutorCommand: PendingCommand {
    static let configuration = CommandConfiguration(commandName: "executor", abstract: "Run an executor.")
}

struct Migrate: PendingCommand {
    static let configuration = CommandConfiguration(abstract: "Create or upgrade the database schema.")
}
