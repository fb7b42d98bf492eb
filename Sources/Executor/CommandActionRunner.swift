import BatonCore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs `command` actions (CONTRACT §4, §9a): argv without a shell, an environment of only `PATH`, the job's
/// `env` and the identity variables; exit 0 = success; at the timeout (or a stop) SIGTERM to the process group, then
/// SIGKILL to the group after the kill grace, whether or not the leader has exited; the last 4 KiB of combined stdout
/// and stderr is kept.
public struct CommandActionRunner: Sendable {
    /// `BATON_ALLOW_COMMANDS`: without it every command ticket fails with `commands_disabled`.
    public var allowCommands: Bool
    /// Between SIGTERM and SIGKILL (CONTRACT: 10 s; tests shorten it).
    public var killGrace: TimeSpan
    /// The `PATH` commands get and argv[0] is looked up in.
    public var path: String

    public init(allowCommands: Bool, killGrace: TimeSpan = .seconds(10), path: String? = nil) {
        self.allowCommands = allowCommands
        self.killGrace = killGrace
        self.path = path ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    }

    public static let disabledOutput =
        "commands_disabled: this executor does not run command actions (start it with BATON_ALLOW_COMMANDS=true)"

    public func run(_ action: CommandAction, identity: TicketIdentity, timeout: TimeSpan, stop: StopSignal) async -> ActionResult {
        guard allowCommands else {
            return ActionResult(outcome: .failed, output: CommandActionRunner.disabledOutput, finalReason: .commandsDisabled)
        }
        guard let program = action.argv.first, !program.isEmpty else {
            return ActionResult(outcome: .failed, output: "command_failed: argv is empty")
        }
        guard let executable = resolve(program, cwd: action.cwd) else {
            return ActionResult(outcome: .failed, output: "command_failed: \"\(program)\" was not found or is not executable (PATH=\(path))")
        }

        var environment = ["PATH": path]
        environment.merge(action.env) { _, job in job }
        environment.merge(identity.environment) { _, baton in baton }
        if let cwd = action.cwd {
            var info = stat()
            guard stat(cwd, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                return ActionResult(outcome: .failed, output: "command_failed: working directory \"\(cwd)\" does not exist")
            }
        }
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(executable: executable.path, argv: action.argv, environment: environment, cwd: action.cwd)
        } catch {
            return ActionResult(outcome: .failed, output: "command_failed: cannot start \(executable.path): \(error.description)")
        }
        let tail = child.output
        let exit = child.exit
        var timedOut = false
        var stoppedBy: StopReason?
        let killGrace = self.killGrace
        let first = await firstOf(
            { await exit.wait().map { _ in Event.exited } },
            { await after(timeout, Event.timedOut) },
            { await stop.next(after: 0).map { Event.stopped($0) } }
        )
        switch first {
        case .exited, .groupGone:
            // Ended on its own; anything it started in the background is left as it is (CONTRACT §4 times out and
            // stops commands, it does not police what a finished one leaves behind).
            child.release(killingGroup: false)
        case nil:
            // This task was cancelled: nobody will wait for the grace, so end the whole group now.
            child.signal(SIGKILL)
            child.release(killingGroup: true)
        case .timedOut, .stopped:
            var seen = 0
            if case .stopped(let reason) = first {
                stoppedBy = reason
                seen = 1
            } else {
                timedOut = true
            }
            if stoppedBy?.isImmediate == true {
                child.signal(SIGKILL)
            } else {
                child.signal(SIGTERM)
                // The grace runs until it ends, a stronger stop arrives, or every process of the group has exited:
                // the leader's exit alone is not enough (a background child, or one that ignores SIGTERM, lives on).
                let seenSoFar = seen
                _ = await firstOf(
                    {
                        guard await exit.wait() != nil else { return nil }
                        return await CommandActionRunner.groupGone(child)
                    },
                    { await after(killGrace, Event.timedOut) },
                    { await stop.next(after: seenSoFar).map { Event.stopped($0) } }
                )
            }
            // Always, even when the leader already exited: it is still unreaped, so the group ID is still its own.
            // Once more after the leader's exit (in `release`), for anything forked in between.
            child.signal(SIGKILL)
            child.release(killingGroup: true)
        }
        let termination = await CommandActionRunner.uncancelled { await exit.wait() } ?? Termination(status: -1, signaled: false)
        let output = await tail.finish()
        let status = Int(termination.signaled ? 128 + termination.status : termination.status)
        let outcome: AttemptOutcome
        if timedOut {
            outcome = .timedOut
        } else if stoppedBy != nil {
            outcome = .cancelled
        } else {
            outcome = status == 0 ? .succeeded : .failed
        }
        return ActionResult(outcome: outcome, status: status, output: OutputLimit.text(output))
    }

    private enum Event: Sendable {
        case exited
        case timedOut
        case stopped(StopReason)
        case groupGone
    }

    /// Polls the group (there is no event for "the last member exited") until only the exited leader is left.
    private static func groupGone(_ child: ChildProcess) async -> Event? {
        while child.groupHasLiveMembers() {
            guard await after(.milliseconds(20), ()) != nil else { return nil }
        }
        return .groupGone
    }

    /// Runs `body` in a task that does not inherit this task's cancellation: a cancelled attempt still learns how its
    /// (killed) child ended, rather than returning while the child is alive.
    private static func uncancelled<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
        await Task { await body() }.value
    }

    private func resolve(_ program: String, cwd: String?) -> URL? {
        if program.contains("/") {
            let base = cwd.map { URL(fileURLWithPath: $0, isDirectory: true) }
            let url = program.hasPrefix("/") ? URL(fileURLWithPath: program) : URL(fileURLWithPath: program, relativeTo: base)
            return access(url.path, X_OK) == 0 ? url : nil
        }
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(program)"
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return URL(fileURLWithPath: candidate)
            }
        }
        return nil
    }
}

struct Termination: Sendable {
    var status: Int32
    var signaled: Bool
}
