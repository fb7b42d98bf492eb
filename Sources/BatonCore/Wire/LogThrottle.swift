/// Decides which lines of a repetitive warning to write: at most one per key (a peer) per interval, and that
/// one says how many were left out since the last.
///
/// Why: a peer can send malformed frames as fast as the network allows, and one warning line per frame let any
/// process that reaches the dispatch port fill the disk and bury every other line. Counters (metrics) still count
/// every occurrence; only the log is thinned. The key table is bounded too, since keys come from peers: when it
/// is full, stale keys are dropped, and if none is stale, new keys share one overflow key.
public struct LogThrottle: Sendable {
    public struct Entry: Sendable, Equatable {
        var lastWritten: Timestamp
        var suppressed: Int
    }

    public let interval: TimeSpan
    public let maximumKeys: Int
    private(set) var entries: [String: Entry] = [:]

    /// The key that keys beyond `maximumKeys` share.
    public static let overflowKey = "(other peers)"

    public init(interval: TimeSpan = .seconds(10), maximumKeys: Int = 256) {
        self.interval = interval
        self.maximumKeys = max(1, maximumKeys)
    }

    /// Whether to write the line for `key` now: nil to leave it out, else the number of lines left out for this
    /// key since the last one written (0 when none).
    public mutating func admit(_ key: String, now: Timestamp) -> Int? {
        var key = key
        if entries[key] == nil && entries.count >= maximumKeys {
            entries = entries.filter { now - $0.value.lastWritten < interval }
            if entries.count >= maximumKeys { key = Self.overflowKey }
        }
        guard var entry = entries[key] else {
            entries[key] = Entry(lastWritten: now, suppressed: 0)
            return 0
        }
        guard now - entry.lastWritten >= interval else {
            entry.suppressed += 1
            entries[key] = entry
            return nil
        }
        let suppressed = entry.suppressed
        entries[key] = Entry(lastWritten: now, suppressed: 0)
        return suppressed
    }
}
