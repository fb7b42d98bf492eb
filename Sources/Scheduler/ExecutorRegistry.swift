import BatonCore

/// What the scheduler knows about each connected executor: its ZeroMQ routing id, declared
/// capacity and queues, and the credit it has left. Pure value logic; the dispatcher owns the
/// only instance behind a lock.
struct ExecutorRegistry: Sendable {
    struct Peer: Sendable, Equatable {
        var routingID: [UInt8]
        var executorID: String
        var capacity: Int
        var queues: Set<String>
        var credit: Int
        var lastSeen: Timestamp
    }

    private(set) var peers: [[UInt8]: Peer] = [:]
    private var rotation: [[UInt8]] = []
    private var nextIndex = 0

    /// Records (or refreshes) an executor; returns true when it is new or changed its declaration.
    @discardableResult
    mutating func hello(_ routingID: [UInt8], _ hello: WireMessage.Hello, now: Timestamp) -> Bool {
        let previous = peers[routingID]
        let credit = peers[routingID].map { min($0.credit, hello.capacity) } ?? 0
        peers[routingID] = Peer(
            routingID: routingID, executorID: hello.executor, capacity: hello.capacity,
            queues: Set(hello.queues.isEmpty ? ["default"] : hello.queues), credit: credit, lastSeen: now)
        if !rotation.contains(routingID) { rotation.append(routingID) }
        return previous?.capacity != hello.capacity || previous?.queues != Set(hello.queues.isEmpty ? ["default"] : hello.queues)
    }

    /// Credit is the executor's absolute count of free slots, capped by its declared capacity.
    /// Returns false for an executor that has not said HELLO (its credit is ignored).
    @discardableResult
    mutating func credit(_ routingID: [UInt8], _ n: Int, now: Timestamp) -> Bool {
        guard var peer = peers[routingID] else { return false }
        peer.credit = max(0, min(n, peer.capacity))
        peer.lastSeen = now
        peers[routingID] = peer
        return true
    }

    mutating func touch(_ routingID: [UInt8], now: Timestamp) {
        peers[routingID]?.lastSeen = now
    }

    mutating func remove(_ routingID: [UInt8]) {
        peers[routingID] = nil
        rotation.removeAll { $0 == routingID }
    }

    /// Forgets executors silent for longer than `timeout` (3× their 1 s heartbeat by default).
    mutating func expire(now: Timestamp, timeout: TimeSpan) {
        for (id, peer) in peers where now - peer.lastSeen > timeout { remove(id) }
    }

    var totalCredit: Int { peers.values.reduce(0) { $0 + $1.credit } }

    func routingID(ofExecutor executorID: String) -> [UInt8]? {
        peers.values.first { $0.executorID == executorID }?.routingID
    }

    /// Picks an executor with credit serving `queue`, round-robin, avoiding `avoid` when another
    /// one has credit (a redelivered ticket goes to a different executor, CONTRACT §9a), and
    /// takes one credit from it.
    mutating func take(queue: String, avoid: [UInt8]?) -> [UInt8]? {
        guard !rotation.isEmpty else { return nil }
        var fallback: Int?
        for step in 0..<rotation.count {
            let index = (nextIndex + step) % rotation.count
            let id = rotation[index]
            guard let peer = peers[id], peer.credit > 0, peer.queues.contains(queue) else { continue }
            if id == avoid {
                fallback = fallback ?? index
                continue
            }
            return consume(at: index)
        }
        return fallback.map { consume(at: $0) }
    }

    private mutating func consume(at index: Int) -> [UInt8] {
        let id = rotation[index]
        peers[id]?.credit -= 1
        nextIndex = (index + 1) % rotation.count
        return id
    }
}
