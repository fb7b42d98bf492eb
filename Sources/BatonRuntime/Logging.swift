import BatonCore
import Foundation
import Logging
import Synchronization

/// One log line per event on stderr, as text for people or JSON for collectors (`BATON_LOG_FORMAT`).
/// Metadata keys (`ticket`, `job`, `attempt`, `epoch`, `executor`) are the same in every role, so one
/// ticket can be followed across processes.
public struct BatonLogHandler: LogHandler {
    public enum Format: String, Sendable {
        case text
        case json
    }

    let label: String
    let format: Format
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        if let error = event.error { merged["error"] = "\(error)" }
        let time = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
        let line: String
        switch format {
        case .text:
            // Escaped (LogLine): metadata carries peer input such as executor ids, which must not forge lines.
            line = LogLine.text(
                time: time, level: event.level.rawValue.uppercased(), label: label, message: "\(event.message)",
                fields: merged.sorted { $0.key < $1.key }.map { (key: $0.key, value: "\($0.value)") })
        case .json:
            var object: [String: Any] = ["time": time, "level": event.level.rawValue, "logger": label, "message": "\(event.message)"]
            for (key, value) in merged { object[key] = BatonLogHandler.json(value) }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            line = String(decoding: data, as: UTF8.self) + "\n"
        }
        BatonLogging.write(line)
    }

    static func json(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let convertible): return convertible.description
        case .array(let values): return values.map(json)
        case .dictionary(let values): return values.mapValues(json)
        }
    }
}

/// The process's one log output, shared by every role and by `baton up`'s prefixed child output.
public enum BatonLogging {
    private static let bootstrapped = Mutex(false)
    private static let output = Mutex(FileHandle.standardError)

    public static func bootstrap(format: BatonLogHandler.Format, level: Logger.Level) {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        LoggingSystem.bootstrap { label in BatonLogHandler(label: label, format: format, logLevel: level) }
    }

    /// Serialized so lines from concurrent tasks never interleave.
    public static func write(_ line: String) {
        output.withLock { $0.write(Data(line.utf8)) }
    }
}
