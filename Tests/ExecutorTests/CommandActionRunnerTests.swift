import BatonCore
import Executor
import Foundation
import Testing

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
            ["/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"], timeout: .milliseconds(300))
        let elapsed = clock.now - started
        #expect(result.outcome == .timedOut)
        #expect(result.status == 128 + 9)
        #expect(result.output?.hasPrefix("ready") == true)
        // TERM at 300 ms was ignored; KILL followed after the 300 ms grace.
        #expect(elapsed >= .milliseconds(600))
        #expect(elapsed < .seconds(20))  // the child loops forever unless killed; loose because CI machines are busy
    }

    @Test func aTimeoutEndsAPoliteProcessWithTerm() async {
        let result = await run(["sleep", "30"], timeout: .milliseconds(200))
        #expect(result.outcome == .timedOut)
        #expect(result.status == 128 + 15)
    }

    @Test func aFenceKillsAtOnce() async throws {
        let stop = StopSignal()
        let clock = ContinuousClock()
        let started = clock.now
        async let result = runner.run(
            CommandAction(argv: ["/bin/sh", "-c", "trap '' TERM; echo running; exec sleep 30"]), identity: Self.identity,
            timeout: .seconds(60), stop: stop)
        stop.send(.fenced)
        let ended = await result
        #expect(ended.outcome == .cancelled)
        #expect(ended.status == 128 + 9)
        // Far below the 30 s the child would otherwise run (a loose bound: CI machines are busy).
        #expect(clock.now - started < .seconds(20))
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
