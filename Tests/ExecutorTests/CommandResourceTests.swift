import BatonCore
import BatonTestSupport
import Executor
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What running commands cost the executor's own process: no thread per command, no descriptor left behind.
///
/// Other suites of this target run in parallel and open descriptors and start threads of their own (ZeroMQ loops,
/// HTTP servers, other commands), so each check polls (bounded) for its condition instead of reading one sample.
@Suite("Commands share one watcher thread and leave no descriptor behind", .serialized)
struct CommandResourceTests {
    let runner = CommandActionRunner(allowCommands: true, killGrace: .milliseconds(300))

    func run(_ argv: [String], stop: StopSignal = StopSignal(), timeout: TimeSpan = .seconds(10)) async -> ActionResult {
        await runner.run(CommandAction(argv: argv), identity: CommandActionRunnerTests.identity, timeout: timeout, stop: stop)
    }

    /// This process's open descriptors that a command's spawn creates: its output pipe's ends and its pidfd.
    struct Descriptors: Equatable, CustomStringConvertible {
        var total = 0
        var pipes = 0
        var pidfds = 0

        static func current() -> Descriptors {
            var counts = Descriptors()
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
                counts.total += 1
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)") else { continue }
                if target.hasPrefix("pipe:") { counts.pipes += 1 }
                if target == "anon_inode:[pidfd]" { counts.pidfds += 1 }
            }
            return counts
        }

        func isWithin(_ other: Descriptors) -> Bool { total <= other.total && pipes <= other.pipes && pidfds <= other.pidfds }

        var description: String { "\(total) descriptors (\(pipes) pipes, \(pidfds) pidfds)" }
    }

    /// The `Threads:` line of /proc/self/status.
    static func threadCount() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
        return line.flatMap { Int($0.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) } ?? -1
    }

    /// This process's threads named `name` (/proc/self/task/*/comm).
    static func threads(named name: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines) == name
        }.count
    }

    /// Living children of this process whose command line is exactly `argv`.
    static func children(running argv: [String]) -> Int {
        let expected = argv.map { $0 + "\0" }.joined()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { entry in
            guard pid_t(entry) != nil,
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")"),
                let cmdline = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8)
            else { return false }
            // After "pid (comm)": state, ppid, ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && fields[0] != "Z" && pid_t(fields[1]) == getpid() && cmdline == expected
        }.count
    }

    @Test func twoHundredCommandsLeaveNoDescriptorBehind() async {
        _ = await run(["true"])  // the first command starts the watcher, whose wake pipe stays open for good
        let before = Descriptors.current()
        for round in 0..<25 {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<8 {
                    let number = round * 8 + index
                    group.addTask {
                        let result = await run(["/bin/sh", "-c", "echo \(number)"])
                        #expect(result == ActionResult(outcome: .succeeded, status: 0, output: "\(number)\n"))
                    }
                }
            }
        }
        // The watcher closes a pidfd when it reaps the leader, which may be a moment after `run` returned.
        var after = Descriptors.current()
        let settled = await eventually(timeout: .seconds(10)) {
            after = Descriptors.current()
            return after.isWithin(before)
        }
        #expect(settled, "before 200 commands: \(before); after: \(after)")
    }

    @Test func sixteenRunningCommandsDoNotCostAThreadEach() async {
        _ = await run(["true"])  // the watcher thread exists from the first command on
        let before = Self.threadCount()
        // A sleep no other test runs, to find these children in /proc; the stop below ends them.
        let argv = ["sleep", "600.\(Int.random(in: 1000...9999))"]
        let stop = StopSignal()
        async let results = withTaskGroup(of: ActionResult.self) { group in
            for _ in 0..<16 {
                group.addTask { await run(argv, stop: stop, timeout: .seconds(600)) }
            }
            return await group.reduce(into: [ActionResult]()) { $0.append($1) }
        }
        let running = await eventually(timeout: .seconds(10)) { Self.children(running: argv) == 16 }
        var during = Self.threadCount()
        // Commands with a thread each would add 16 or 32 for as long as they run; threads of other suites come and go.
        let withinTwo = await eventually(timeout: .seconds(5)) {
            during = Self.threadCount()
            return during <= before + 2
        }
        let stillRunning = Self.children(running: argv) == 16
        let watchers = Self.threads(named: "baton-commands")
        stop.send(.cancelRequested)
        let ended = await results
        #expect(running && stillRunning, "the 16 commands were not all running while the threads were counted")
        #expect(withinTwo, "threads: \(before) before 16 running commands, \(during) while they ran")
        #expect(watchers == 1)
        #expect(ended.count == 16)
        #expect(ended.allSatisfy { $0.outcome == .cancelled && $0.status == 128 + 15 })
    }
}
