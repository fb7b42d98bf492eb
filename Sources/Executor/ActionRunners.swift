import BatonCore
import BatonStore

/// Picks the runner for a claim's action and its time limit (the action's own timeout, else `policy.timeout`).
public struct ActionRunners: Sendable {
    public var http: HTTPActionRunner
    public var command: CommandActionRunner

    public init(http: HTTPActionRunner, command: CommandActionRunner) {
        self.http = http
        self.command = command
    }

    public init(_ configuration: ExecutorConfiguration) {
        self.init(
            http: HTTPActionRunner(deny: configuration.httpDeny, maximumConnectionsPerHost: configuration.capacity),
            command: CommandActionRunner(allowCommands: configuration.allowCommands, killGrace: configuration.killGrace))
    }

    public func run(_ claim: ClaimedTicket, stop: StopSignal) async -> ActionResult {
        let identity = TicketIdentity(claim)
        switch claim.spec.action {
        case .noop:
            return ActionResult(outcome: .succeeded)
        case .http(let action):
            return await http.run(action, identity: identity, timeout: action.timeout ?? claim.spec.policy.timeout, stop: stop)
        case .command(let action):
            return await command.run(action, identity: identity, timeout: action.timeout ?? claim.spec.policy.timeout, stop: stop)
        }
    }
}
