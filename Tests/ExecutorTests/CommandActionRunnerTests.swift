import BatonCore
import BatonTestSupport
import Executor
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Command actions as real child processes")
struct CommandActionRunnerTests {
    static let identity = TicketIdentity(
        ticket: TicketID(hex: String(repeating: "cd", count: 32))!, attempt: 1, jobName: "backup",
        slot: Timestamp(rfc3339: "2026-03-08T07:30:00Z")!)

    let runner = CommandActionRunner(allowCommands: true, killGrace: .milliseconds(300))

    func run(_ argv: [String], env: [String: String] = [:], cwd: String? = nil, timeout: TimeSpan = .seconds(10)) async -> ActionResult {
        await runner.run(CommandAction(argv: argv, env: env, cwd: cwd), identity: Self.identity, timeout: timeout, stop: StopSignal())
    }

    @Test func exitZeroSucceedsWithItsOutput() async {
        let result = await run(["echo", "hello"])
        #expect(result == ActionResult(outcome: .succeeded, status: 0, output: "hello\n"))
    }

    @Test func aNonZeroExitFailsAndKeepsStdoutAndStderr() async {
        let result = await run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(result.outcome == .failed)
        #expect(result.status == 3)
        #expect(result.output == "out\nerr\n")
    }

    @Test func theEnvironmentHoldsOnlyPathTheJobsEnvAndTheIdentity() async throws {
        let result = await run(["env"], env: ["GREETING": "hi", "BATON_JOB": "spoofed"])
        #expect(result.outcome == .succeeded)
        let lines = try #require(result.output).split(separator: "\n").map(String.init)
        var environment: [String: String] = [:]
        for line in lines {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            environment[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        #expect(
            Set(environment.keys)
                == ["PATH", "GREETING", "BATON_TICKET", "BATON_IDEMPOTENCY_KEY", "BATON_ATTEMPT", "BATON_JOB", "BATON_SCHEDULED_AT"])
        #expect(environment["BATON_TICKET"] == String(repeating: "cd", count: 32))
        #expect(environment["BATON_IDEMPOTENCY_KEY"] == String(repeating: "cd", count: 32))
        #expect(environment["BATON_ATTEMPT"] == "1")
        #expect(environment["BATON_JOB"] == "backup")
        #expect(environment["BATON_SCHEDULED_AT"] == "2026-03-08T07:30:00Z")
        #expect(environment["GREETING"] == "hi")
    }

    @Test func theWorkingDirectoryIsHonoured() async {
        let result = await run(["pwd"], cwd: "/tmp")
        #expect(result.output == "/tmp\n")
    }

    @Test func onlyTheLast4KiBOfOutputIsKept() async {
        let result = await run(["/bin/sh", "-c", "yes a | head -c 10000; echo END"])
        #expect(result.outcome == .succeeded)
        #expect(result.output?.utf8.count == 4096)
        #expect(result.output?.hasSuffix("a\nEND\n") == true)
    }

    @Test func aTimeoutSendsTermThenKillToAProcessThatIgnoresTerm() async {
        let clock = ContinuousClock()
        let started = clock.now
        let result = await run(
            ["/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"], timeout: .milliseconds(300))  // the child under test outlives its timeout on purpose
        let elapsed = clock.now - started
        #expect(result.outcome == .timedOut)
        #expect(result.status == 128 + 9)
        #expect(result.output?.hasPrefix("ready") == true)
        // TERM at 300 ms was ignored; KILL followed after the 300 ms grace.
        #expect(elapsed >= .milliseconds(600))
        #expect(elapsed < .seconds(20))  // the child loops forever unless killed; loose because CI machines are busy
    }

    @Test func aTimeoutEndsAPoliteProcessWithTerm() async {
        let result = await run(["sleep", "30"], timeout: .milliseconds(200))  // the child under test outlives its timeout on purpose
        #expect(result.outcome == .timedOut)
        #expect(result.status == 128 + 15)
    }

    @Test func aFenceKillsAtOnce() async throws {
        let stop = StopSignal()
        let clock = ContinuousClock()
        let started = clock.now
        async let result = runner.run(
            CommandAction(argv: ["/bin/sh", "-c", "trap '' TERM; echo running; exec sleep 30"]), identity: Self.identity,  // the child under test outlives its timeout on purpose
            timeout: .seconds(60), stop: stop)
        stop.send(.fenced)
        let ended = await result
        #expect(ended.outcome == .cancelled)
        #expect(ended.status == 128 + 9)
        // Far below the 30 s the child would otherwise run (a loose bound: CI machines are busy).
        #expect(clock.now - started < .seconds(20))
    }

    // MARK: The process group after a timeout or a stop

    /// The PID on the first line of a command's output (the scripts below print `$!`).
    static func backgroundPID(_ result: ActionResult) throws -> pid_t {
        let first = try #require(result.output?.split(separator: "\n").first)
        return try #require(pid_t(first.trimmingCharacters(in: .whitespaces)))
    }

    /// Alive and not a zombie (an orphan may wait a moment for its new parent to reap it).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
            return false
        }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// Waits (bounded) for `pid` to be gone; if it is not, kills it (it is a child of a command this test started).
    static func expectGone(_ pid: pid_t, sourceLocation: SourceLocation = #_sourceLocation) async {
        let gone = await eventually(timeout: .seconds(5)) { !isRunning(pid) }
        if !gone { kill(pid, SIGKILL) }
        #expect(gone, "background process \(pid) outlived its command", sourceLocation: sourceLocation)
    }

    @Test func aTimeoutKillsABackgroundChildThatIgnoresTermAfterTheLeaderExits() async throws {
        // The leader dies of SIGTERM at once; its background child ignores SIGTERM and would run for 300 s.
        let result = await run(
            ["/bin/sh", "-c", "(trap '' TERM; exec sleep 300) & echo $!; exec sleep 300"], timeout: .milliseconds(300))  // the child under test outlives its timeout on purpose
        #expect(result.outcome == .timedOut)
        #expect(result.status == 128 + 15)
        await Self.expectGone(try Self.backgroundPID(result))
    }

    @Test func aTimeoutKillsTheGroupWhenTheLeaderIgnoresTermAndLeavesAChild() async throws {
        // The leader ignores SIGTERM and so does what it started; after the grace both must be gone.
        let result = await run(
            ["/bin/sh", "-c", "trap '' TERM; sleep 300 & echo $!; wait"], timeout: .milliseconds(300))  // the child under test outlives its timeout on purpose
        #expect(result.outcome == .timedOut)
        await Self.expectGone(try Self.backgroundPID(result))
    }

    @Test func aPolitelyStoppedCommandDoesNotWaitOutTheGrace() async {
        // Everything exits on SIGTERM: the runner returns as soon as the group is empty, not after the grace.
        let slow = CommandActionRunner(allowCommands: true, killGrace: .seconds(30))
        let clock = ContinuousClock()
        let started = clock.now
        let result = await slow.run(
            CommandAction(argv: ["/bin/sh", "-c", "sleep 300 & exec sleep 300"]), identity: Self.identity, timeout: .milliseconds(200),  // the child under test outlives its timeout on purpose
            stop: StopSignal())
        #expect(result.outcome == .timedOut)
        #expect(clock.now - started < .seconds(20))  // far below the 30 s grace; loose because CI machines are busy
    }

    @Test func aCancelledAttemptKillsItsWholeGroup() async throws {
        let output = "/tmp/baton-cancel-\(UUID().uuidString)"
        defer { unlink(output) }
        let attempt = Task {
            await runner.run(
                CommandAction(argv: ["/bin/sh", "-c", "(trap '' TERM; exec sleep 300) & echo $! > \(output); exec sleep 300"]),  // the child under test outlives its timeout on purpose
                identity: Self.identity, timeout: .seconds(600), stop: StopSignal())
        }
        try await waitUntil("the background PID is written") {
            ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").hasSuffix("\n")
        }
        let pid = try #require(pid_t(try String(contentsOfFile: output, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        attempt.cancel()
        _ = await attempt.value
        await Self.expectGone(pid)
    }

    @Test func commandsAreRefusedUnlessAllowed() async {
        let disabled = CommandActionRunner(allowCommands: false)
        let result = await disabled.run(
            CommandAction(argv: ["echo", "no"]), identity: Self.identity, timeout: .seconds(5), stop: StopSignal())
        #expect(result.outcome == .failed)
        #expect(result.output?.hasPrefix("commands_disabled") == true)
        #expect(result.finalReason == .commandsDisabled)
    }

    @Test func anUnknownProgramFailsClearly() async {
        let result = await run(["no-such-program-baton-test"])
        #expect(result.outcome == .failed)
        #expect(result.output?.contains("not found") == true)
    }
}
