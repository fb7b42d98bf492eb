import ArgumentParser
import BatonCore
import BatonSQLite
import BatonStore
import Foundation

/// `baton bench gateway`: GET one job and POST trigger through a real `baton gateway`, 16 connections.
///
/// The load comes from `wrk` (Debian's `wrk` package; `make bench` installs it), a separate C process, so
/// the figures are the gateway's, not a Swift HTTP client's. wrk and the gateway share the machine's cores.
struct GatewayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Requests per second for GET /v1/jobs/{name} and POST …/trigger (targets ≥ 20,000 and ≥ 5,000).")

    @OptionGroup var options: BenchOptions

    @Option(help: "Concurrent connections.")
    var connections = 16

    @Option(help: "Seconds per endpoint.")
    var seconds = 10

    @Option(help: "wrk threads.")
    var threads = 2

    @Option(help: "The wrk binary.")
    var wrk = "/usr/bin/wrk"

    struct WrkResult {
        var requestsPerSecond: Double
        var p50Ms: Double
        var p99Ms: Double
        var non2xx: Int
        var errors: Int
    }

    func run() async throws {
        guard FileManager.default.isExecutableFile(atPath: wrk) else {
            throw BenchFailure("\(wrk) not found: install Debian's wrk package (make bench does)")
        }
        try await BenchCluster.measuring(options, measure)
    }

    func measure(_ cluster: BenchCluster) async throws {
        let database = try await cluster.openDatabase()
        _ = try await database.stores.jobs.create(
            try BenchJobs.spec(name: "bench-job", schedule: #"{"every": "24h"}"#), now: cluster.clock.now())
        let port = try BenchCluster.freePort()
        let token = "bench-\(UInt64.random(in: 0...UInt64.max))"
        // Triggers send WAKE to this (absent) scheduler endpoint: fire-and-forget, as in production.
        try cluster.start(
            role: "gateway", name: "gateway", arguments: [],
            environment: [
                "BATON_HTTP_BIND": "127.0.0.1:\(port)", "BATON_API_TOKEN": token,
                "BATON_SCHEDULERS": "tcp://127.0.0.1:\(try BenchCluster.freePort())",
            ])
        let base = "http://127.0.0.1:\(port)"
        let ready = BenchDeadline(.seconds(30))
        var up = false
        repeat {
            try cluster.checkAlive()
            up = Self.healthy(base)
            if up { break }
        } while try await ready.pause()
        guard up else { throw BenchFailure("the gateway did not answer /healthz within 30 s") }

        let script = cluster.directory.appendingPathComponent("trigger.lua")
        // Bodyless, but every unsafe request must say JSON (API.md "Bodies").
        try Data(#"wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json""#.utf8).write(to: script)
        let get = try runWrk(url: base + "/v1/jobs/bench-job", token: token, script: nil)
        let trigger = try runWrk(url: base + "/v1/jobs/bench-job/trigger", token: token, script: script.path)
        let triggered = try await database.bench.census().total
        let rss = cluster.peakRSS()

        let settings: [String: Any] = ["connections": connections, "seconds": seconds, "wrkThreads": threads, "auth": "bearer"]
        let figures: [String: Any] = [
            "getRequestsPerSecond": Int(get.requestsPerSecond), "getP50Ms": get.p50Ms, "getP99Ms": get.p99Ms,
            "triggerRequestsPerSecond": Int(trigger.requestsPerSecond), "triggerP50Ms": trigger.p50Ms,
            "triggerP99Ms": trigger.p99Ms, "ticketsWritten": triggered, "non2xx": get.non2xx + trigger.non2xx, "socketErrors": get.errors + trigger.errors,
            "maxRssMB": BenchReport.megabytes(rss.values.max() ?? 0),
        ]
        try BenchReport.emit(
            benchmark: "gateway", options: options, settings: settings, figures: figures,
            summary: [
                "gateway: \(connections) connections, \(seconds) s per endpoint, wrk with \(threads) threads",
                "  GET  /v1/jobs/{name}          \(Int(get.requestsPerSecond)) req/s  p50 \(get.p50Ms) ms  p99 \(get.p99Ms) ms  (target ≥ 20000)",
                "  POST /v1/jobs/{name}/trigger  \(Int(trigger.requestsPerSecond)) req/s  p50 \(trigger.p50Ms) ms  p99 \(trigger.p99Ms) ms  (target ≥ 5000)",
                "  non-2xx responses: \(get.non2xx + trigger.non2xx); tickets written by triggers: \(triggered)",
            ] + BenchReport.rssLines(rss))
    }

    func runWrk(url: String, token: String, script: String?) throws -> WrkResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wrk)
        var arguments = [
            "-t\(threads)", "-c\(connections)", "-d\(seconds)s", "--latency", "-H", "Authorization: Bearer \(token)",
        ]
        if let script { arguments += ["-s", script] }
        process.arguments = arguments + [url]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchFailure("wrk failed:\n\(output)") }
        return WrkResult(
            requestsPerSecond: Self.number(after: "Requests/sec:", in: output) ?? 0,
            p50Ms: Self.latency(percentile: "50%", in: output), p99Ms: Self.latency(percentile: "99%", in: output),
            non2xx: Int(Self.number(after: "Non-2xx or 3xx responses:", in: output) ?? 0),
            errors: output.contains("Socket errors") ? 1 : 0)
    }

    /// One GET /healthz; false until the gateway answers.
    static func healthy(_ base: String) -> Bool {
        guard let url = URL(string: base + "/healthz") else { return false }
        return (try? Data(contentsOf: url)) != nil
    }

    static func number(after label: String, in text: String) -> Double? {
        guard let range = text.range(of: label) else { return nil }
        return Double(text[range.upperBound...].split(whereSeparator: { $0 == " " || $0 == "\n" }).first ?? "")
    }

    /// wrk prints latency percentiles as `50%  1.23ms` (or `us`, `s`); returned in milliseconds.
    static func latency(percentile: String, in text: String) -> Double {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0] == percentile else { continue }
            let value = String(parts[1])
            for (suffix, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where value.hasSuffix(suffix) {
                if let number = Double(value.dropLast(suffix.count)) { return (number * scale * 1000).rounded() / 1000 }
            }
        }
        return 0
    }
}
