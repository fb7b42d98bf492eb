import ArgumentParser
import BatonBench

@main
struct Baton: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "baton",
        abstract: "A distributed job scheduler: one leader writes tickets, any number of executors run them once.",
        version: version,
        subcommands: [
            Up.self, SchedulerCommand.self, ExecutorCommand.self, GatewayCommand.self, Migrate.self,
            Backup.self, DispatchKeysCommand.self, CronCommand.self, Jobs.self, Tickets.self, Bench.self,
        ]
    )
}
