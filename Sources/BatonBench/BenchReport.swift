import Foundation

/// Latency percentiles from a sorted array (nearest rank). At 30,000 samples sorting costs a millisecond,
/// so a histogram library would not pay for its build time.
struct Percentiles {
    let sorted: [Int64]

    init(_ values: [Int64]) { sorted = values.sorted() }

    var count: Int { sorted.count }

    /// The value at quantile `q` (0...1), nearest rank; 0 when empty.
    func value(_ q: Double) -> Int64 {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(sorted.count - 1, Swift.max(0, rank - 1))]
    }

    var max: Int64 { sorted.last ?? 0 }
    var mean: Double { sorted.isEmpty ? 0 : Double(sorted.reduce(0, +)) / Double(sorted.count) }

    /// `prefix` + P50Ms, P99Ms, P999Ms, MaxMs.
    func figures(_ prefix: String) -> [String: Any] {
        [
            "\(prefix)P50Ms": value(0.5), "\(prefix)P99Ms": value(0.99), "\(prefix)P999Ms": value(0.999),
            "\(prefix)MaxMs": max, "\(prefix)MeanMs": (mean * 100).rounded() / 100,
        ]
    }

    var line: String {
        "p50 \(value(0.5)) ms  p99 \(value(0.99)) ms  p99.9 \(value(0.999)) ms  max \(max) ms  (n=\(count))"
    }
}

/// The common output of `baton bench`: a readable summary, and with `--json` one object on the last line.
enum BenchReport {
    static func emit(benchmark: String, options: BenchOptions, settings: [String: Any], figures: [String: Any], summary: [String]) throws {
        let backend = options.db == nil ? "sqlite" : "postgres"
        for (index, line) in summary.enumerated() { print(index == 0 ? "\(line) [\(backend)]" : line) }
        guard options.json else { return }
        var object = figures
        object["benchmark"] = benchmark
        object["backend"] = backend
        object["cores"] = ProcessInfo.processInfo.activeProcessorCount
        object["commit"] = BenchEnvironment.commit
        object["settings"] = settings
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
    }

    static func megabytes(_ value: Double) -> Double { (value * 10).rounded() / 10 }

    static func rssLines(_ rss: [String: Double]) -> [String] {
        rss.keys.sorted().map { "  peak RSS \($0): \(megabytes(rss[$0] ?? 0)) MB" }
    }
}
