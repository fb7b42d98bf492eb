import Synchronization

/// A process-wide memo for values that never go stale for their key (a job revision's parsed spec, its resolved
/// schedule, an unchanged job's encoded body), bounded in size.
///
/// Two generations: entries go into the current one; when it holds `limit`, it becomes the previous one and the one
/// before is dropped. A hit in the previous generation moves back into the current one, so what is in use survives
/// a turnover and memory stays under 2 × `limit` entries, without the bookkeeping of a per-entry LRU. The caches it
/// replaces started over from empty when full, so a working set just over the limit missed on every other pass.
///
/// Owned per process and handed to whoever needs it (a store's database, the gateway's dependencies): a cache made
/// per store instance silently served each copy of the store its own.
public final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Generations {
        var current: [Key: Value] = [:]
        var previous: [Key: Value] = [:]
    }

    public let limit: Int
    private let generations = Mutex(Generations())

    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    public subscript(key: Key) -> Value? {
        generations.withLock { generations in
            if let hit = generations.current[key] { return hit }
            guard let old = generations.previous.removeValue(forKey: key) else { return nil }
            Self.insert(old, for: key, into: &generations, limit: limit)
            return old
        }
    }

    public func insert(_ value: Value, for key: Key) {
        generations.withLock { Self.insert(value, for: key, into: &$0, limit: limit) }
    }

    /// The cached value, or `load()`'s, which is then cached. `load` runs outside the lock, so two callers missing
    /// the same key at once may both load it (the values are equal by the cache's premise).
    public func value<E: Error>(for key: Key, orLoad load: () throws(E) -> Value) throws(E) -> Value {
        if let hit = self[key] { return hit }
        let value = try load()
        insert(value, for: key)
        return value
    }

    /// How many entries are held (both generations), for tests and metrics.
    public var count: Int { generations.withLock { $0.current.count + $0.previous.count } }

    private static func insert(_ value: Value, for key: Key, into generations: inout Generations, limit: Int) {
        if generations.current.count >= limit, generations.current[key] == nil {
            generations.previous = generations.current
            generations.current = [:]
            generations.current.reserveCapacity(limit)
        }
        generations.current[key] = value
    }
}
