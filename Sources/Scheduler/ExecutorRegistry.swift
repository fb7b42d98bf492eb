import BatonCore
import BatonStore

/// What the scheduler knows about each connected executor: its ZeroMQ routing id, declared
/// capacity and queues, and the credit it has left. Pure value logic; the dispatcher owns the
/// only instance behind a lock.
///
/// Nothing a peer says is trusted beyond what it can cost (CONTRACT §8: a forged message may delay a ticket,
/// never lose it). HELLO is capped (``maximumPeers``, and queues per HELLO in `WireMessage`), and a peer that
/// takes offers without claiming them is suspended: the leader sees claims in the database, so a peer cannot fake
/// them. Without that, a process that said HELLO with capacity 1024 and never claimed soaked up offers until
/// tickets were skipped as misfires.
struct ExecutorRegistry: Sendable {
    struct Peer: Sendable, Equatable {
        var routingID: [UInt8]
        var executorID: String
        var capacity: Int
        var queues: Set<String>
        var credit: Int
        var lastSeen: Timestamp
        /// The first offers made since this peer's last claim was seen (at most ``ExecutorRegistry/watchedOffers``);
        /// one of them leaving the due queue is the evidence that the peer claims what it is offered.
        var watched: [Offer] = []
        /// When a claim by this peer was last seen; nil: never (a peer that never claimed is not trusted with
        /// redeliveries while a proven one has credit).
        var lastClaimSeen: Timestamp?
    }

    /// A ticket offered to a peer, with its place in the due queue (to tell "claimed" from "not read this time").
    struct Offer: Sendable, Equatable {
        var ticket: TicketID
        var position: DueCursor
        var at: Timestamp
    }

    /// A peer that left offers unclaimed. Kept by routing id even after the peer leaves, so a BYE and a new HELLO
    /// do not clear it.
    struct Suspension: Sendable, Equatable {
        var strikes: Int
        var until: Timestamp
    }

    enum HelloOutcome: Sendable, Equatable {
        /// A new peer, or one that changed its capacity or queues.
        case registered
        /// A known peer repeating itself (executors say HELLO every second).
        case refreshed
        /// ``maximumPeers`` peers are known already; this one is ignored until one leaves.
        case refusedFull
    }

    static let watchedOffers = 8
    /// Offers a peer not (or no longer) seen claiming may hold at once. One: a stranger holds at most one ticket
    /// until its suspension, and a real executor is seen claiming within a few milliseconds (the leader reads the
    /// due queue quickly while such an offer is out, see ``awaitsFirstClaim``).
    static let probationOffers = 1
    /// The longest suspension, however many strikes: long enough that a peer which never claims costs little,
    /// short enough that a real executor wrongly suspended (its database stalled for a while) is back well
    /// within a typical misfire grace.
    static let maximumSuspension = TimeSpan.minutes(5)

    let maximumPeers: Int
    /// An offer not claimed within this is a strike against the peer (`BATON_REDELIVER_AFTER`); also the first
    /// suspension, which doubles per strike.
    let redeliverAfter: TimeSpan

    private(set) var peers: [[UInt8]: Peer] = [:]
    private(set) var suspensions: [[UInt8]: Suspension] = [:]
    private var rotation: [[UInt8]] = []
    private var nextIndex = 0

    init(maximumPeers: Int = 1024, redeliverAfter: TimeSpan = .seconds(2)) {
        self.maximumPeers = max(1, maximumPeers)
        self.redeliverAfter = redeliverAfter
    }

    /// Records (or refreshes) an executor.
    @discardableResult
    mutating func hello(_ routingID: [UInt8], _ hello: WireMessage.Hello, now: Timestamp) -> HelloOutcome {
        let queues = Set(hello.queues.isEmpty ? ["default"] : hello.queues)
        guard var peer = peers[routingID] else {
            guard peers.count < maximumPeers else { return .refusedFull }
            peers[routingID] = Peer(
                routingID: routingID, executorID: hello.executor, capacity: hello.capacity, queues: queues, credit: 0,
                lastSeen: now)
            rotation.append(routingID)
            return .registered
        }
        let changed = peer.capacity != hello.capacity || peer.queues != queues
        peer.executorID = hello.executor
        peer.capacity = hello.capacity
        peer.queues = queues
        peer.credit = min(peer.credit, hello.capacity)
        peer.lastSeen = now
        peers[routingID] = peer
        return changed ? .registered : .refreshed
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

    /// Forgets executors silent for longer than `timeout` (3× their 1 s heartbeat by default), and suspensions
    /// long over.
    mutating func expire(now: Timestamp, timeout: TimeSpan) {
        for (id, peer) in peers where now - peer.lastSeen > timeout { remove(id) }
        if suspensions.count > maximumPeers {
            // Strikes older than the longest suspension are history; a stranger cycling through routing ids cannot
            // grow this table past a bound either.
            suspensions = suspensions.filter { now - $0.value.until < Self.maximumSuspension }
            if suspensions.count > maximumPeers * 2 {
                suspensions = Dictionary(
                    uniqueKeysWithValues: suspensions.sorted { $0.value.until > $1.value.until }.prefix(maximumPeers).map { ($0.key, $0.value) })
            }
        }
    }

    func isSuspended(_ routingID: [UInt8], now: Timestamp) -> Bool {
        suspensions[routingID].map { $0.until > now } ?? false
    }

    /// Credit the leader may use now: suspended peers' credit does not count.
    func usableCredit(now: Timestamp) -> Int {
        peers.values.reduce(0) { $0 + (isSuspended($1.routingID, now: now) ? 0 : $1.credit) }
    }

    func routingID(ofExecutor executorID: String) -> [UInt8]? {
        peers.values.first { $0.executorID == executorID }?.routingID
    }

    /// Picks an executor with credit serving `queue`, round-robin, never a suspended one, and takes one credit from
    /// it. Executors seen claiming come first; a peer on probation (never seen claiming, or suspended since) gets a
    /// ticket only when none of those has credit, and holds one offer at a time, so strangers cannot hold tickets
    /// a real executor could run. A redelivered ticket (`avoid` is where it went before) goes to a different
    /// executor when one has credit (CONTRACT §9a).
    mutating func take(queue: String, avoid: [UInt8]?, now: Timestamp) -> [UInt8]? {
        guard !rotation.isEmpty else { return nil }
        var other: Int?
        var fallback: Int?
        for step in 0..<rotation.count {
            let index = (nextIndex + step) % rotation.count
            let id = rotation[index]
            guard let peer = peers[id], peer.credit > 0, peer.queues.contains(queue), !isSuspended(id, now: now),
                peer.lastClaimSeen != nil || peer.watched.count < Self.probationOffers
            else {
                continue
            }
            if id == avoid {
                fallback = fallback ?? index
            } else if peer.lastClaimSeen != nil {
                return consume(at: index, advancing: avoid == nil)
            } else {
                other = other ?? index
            }
        }
        if let other { return consume(at: other, advancing: avoid == nil) }
        return fallback.map { consume(at: $0, advancing: false) }
    }

    /// A redelivery does not move the rotation: otherwise every redelivery to the one executor that claims reset
    /// the rotation to the peers after it, and first offers kept going to the same strangers.
    private mutating func consume(at index: Int, advancing: Bool) -> [UInt8] {
        let id = rotation[index]
        peers[id]?.credit -= 1
        if advancing { nextIndex = (index + 1) % rotation.count }
        return id
    }

    /// Whether a peer not seen claiming holds an offer: the leader then reads the due queue from its head soon,
    /// so a real executor is seen claiming (and leaves probation) within milliseconds.
    var awaitsFirstClaim: Bool {
        peers.values.contains { $0.lastClaimSeen == nil && !$0.watched.isEmpty }
    }

    /// The leader sent `ticket` to `routingID`: watch it, until a claim by this peer is seen.
    mutating func offered(_ routingID: [UInt8], ticket: TicketID, position: DueCursor, now: Timestamp) {
        guard var peer = peers[routingID], peer.watched.count < Self.watchedOffers else { return }
        peer.watched.append(Offer(ticket: ticket, position: position, at: now))
        peers[routingID] = peer
    }

    /// What a read of the due queue from its head shows: `due` are the tickets still waiting, and everything up to
    /// `readThrough` was read (nil: the whole queue). A watched offer no longer due was claimed — only the peer it
    /// was offered to has seen its id, and only a claim (or a cancellation) takes a ticket out of the queue.
    mutating func observe(due: Set<TicketID>, readThrough: DueCursor?, now: Timestamp) {
        for (id, peer) in peers where !peer.watched.isEmpty {
            let claimed = peer.watched.contains { offer in
                !due.contains(offer.ticket) && readThrough.map { offer.position <= $0 } ?? true
            }
            guard claimed else { continue }
            peers[id]?.watched = []
            peers[id]?.lastClaimSeen = now
            suspensions[id] = nil
        }
    }

    /// `ticket`, sent to `routingID` at `sentAt`, is still unclaimed now (the leader is about to redeliver it).
    /// Unless a claim by that peer was seen since, the peer is suspended: no offers until the suspension ends
    /// (``redeliverAfter``, doubling with each strike, at most ``maximumSuspension``). Returns the suspension when
    /// one starts.
    @discardableResult
    mutating func unclaimed(
        _ routingID: [UInt8], ticket: TicketID, sentAt: Timestamp, now: Timestamp
    ) -> Suspension? {
        peers[routingID]?.watched.removeAll { $0.ticket == ticket }
        if let seen = peers[routingID]?.lastClaimSeen, seen >= sentAt { return nil }
        if isSuspended(routingID, now: now) { return nil }
        let strikes = (suspensions[routingID]?.strikes ?? 0) + 1
        var length = redeliverAfter
        for _ in 1..<min(strikes, 20) where length < Self.maximumSuspension { length = length * 2 }
        let suspension = Suspension(strikes: strikes, until: now + min(length, Self.maximumSuspension))
        suspensions[routingID] = suspension
        peers[routingID]?.watched = []
        peers[routingID]?.lastClaimSeen = nil  // back on probation once the suspension ends
        return suspension
    }
}
