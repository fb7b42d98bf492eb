import ArgumentParser
import BatonCore
import Foundation

/// `baton bench …`: benchmarks, meant for a release build (`swift run -c release baton bench …`).
/// A library of its own so that no role module carries benchmark code; only the `baton` executable links it.
public struct Bench: ParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Run benchmarks (use a release build).",
        subcommands: [CronBench.self, ThroughputBench.self, LatencyBench.self, GatewayBench.self, ScaleBench.self, FailoverBench.self, PurgeBench.self]
    )

    public init() {}
}

/// Options every benchmark shares.
struct BenchOptions: ParsableArguments {
    @Flag(help: "Print one JSON object on the last line.")
    var json = false

    @Option(help: "Log level of the child processes (their logs go to files in the temporary directory).")
    var logLevel = "warning"

    @Flag(help: "Keep the temporary directory (database and child logs) instead of deleting it.")
    var keepData = false

    @Option(
        help: """
            A PostgreSQL server to run on (postgres://user[:password]@host[:port]/database): each run creates a fresh \
            database beside the one named, and drops it afterwards (unless --keep-data). Default: a temporary SQLite file.
            """)
    var db: String?
}

/// Next-fire computations per second for typical expressions (issue: ≥ 200,000/s).
struct CronBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cron", abstract: "Measure next-fire computations per second.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Computations per expression.")
    var iterations = 1_000_000

    static let cases: [(expression: String, zone: String)] = [
        ("*/5 * * * *", "UTC"),
        ("30 2 * * *", "America/New_York"),
        ("0 9 * * MON-FRI", "Europe/Berlin"),
        ("0 0 L * *", "Australia/Lord_Howe"),
        ("15 10 * * 5#3", "Asia/Tokyo"),
    ]

    func run() throws {
        var results: [[String: Any]] = []
        var total = 0.0
        for (expression, zone) in CronBench.cases {
            let schedule = try CronSchedule(expression: try CronExpression(parsing: expression), timeZone: zone)
            var cursor = Timestamp(rfc3339: "2026-01-01T00:00:00Z") ?? Timestamp(milliseconds: 0)
            var checksum: Int64 = 0
            let clock = ContinuousClock()
            let elapsed = clock.measure {
                for _ in 0..<iterations {
                    // Restart each year so the benchmark stays within realistic dates.
                    guard let next = schedule.nextFire(after: cursor) else { break }
                    checksum &+= next.milliseconds
                    cursor = next.milliseconds > 1_830_000_000_000 ? Timestamp(seconds: 1_767_225_600) : next
                }
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let rate = Double(iterations) / seconds
            total += rate
            results.append(["expression": expression, "timezone": zone, "computationsPerSecond": Int(rate)])
            if !options.json {
                print("\(expression.padding(toLength: 18, withPad: " ", startingAt: 0)) \(zone.padding(toLength: 20, withPad: " ", startingAt: 0)) \(Int(rate)) next-fire/s  (checksum \(checksum % 997))")
            }
        }
        let mean = total / Double(CronBench.cases.count)
        if options.json {
            let object: [String: Any] = [
                "benchmark": "cron", "cores": ProcessInfo.processInfo.activeProcessorCount,
                "commit": BenchEnvironment.commit, "settings": ["iterations": iterations],
                "computationsPerSecond": Int(mean), "cases": results,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("mean: \(Int(mean)) next-fire computations/s (target ≥ 200000)")
        }
    }
}

enum BenchEnvironment {
    /// The commit being measured, from `BATON_COMMIT` or `git rev-parse`, so recorded results name their code.
    static var commit: String {
        if let value = ProcessInfo.processInfo.environment["BATON_COMMIT"], !value.isEmpty { return value }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "rev-parse", "--short", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            return "unknown"
        }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "unknown" : text
    }
}
