/// A message between schedulers and executors or the gateway (CONTRACT §8).
///
/// Frames: `BATON/1`, the type, a UTF-8 JSON payload. The database is the authority:
/// these messages only say "look now", so a lost or forged one delays work and
/// never duplicates it.
public enum WireMessage: Sendable, Equatable {
    case hello(Hello)
    case credit(Credit)
    case tickets([TicketNotice])
    case heartbeat(Heartbeat)
    case notLeader(NotLeader)
    case wake(Wake)
    case bye(Bye)
    case cancel(Cancel)

    public static let protocolTag = "BATON/1"
    /// Larger messages are refused by the socket (`ZMQ_MAXMSGSIZE`) and by `decode`.
    public static let maximumSize = 1 << 20

    public struct Hello: Sendable, Equatable {
        /// Queues one executor may serve. A scheduler keeps every peer's queue set, so without a cap one HELLO
        /// could make it store and scan thousands of names for every ticket it dispatches.
        public static let maximumQueues = 32

        public var executor: String
        public var capacity: Int
        public var version: String
        public var queues: [String]

        public init(executor: String, capacity: Int, version: String, queues: [String] = ["default"]) {
            self.executor = executor
            self.capacity = capacity
            self.version = version
            self.queues = queues
        }
    }

    public struct Credit: Sendable, Equatable {
        public var executor: String
        /// Free slots the sender has right now.
        public var n: Int

        public init(executor: String, n: Int) {
            self.executor = executor
            self.n = n
        }
    }

    /// "Claim this ticket". Only the id: executors claim by id and read everything else from the database (the
    /// contract's `{id, job, slot, epoch}`, narrowed; Docs/Architecture.md, "Wire protocol decisions").
    public struct TicketNotice: Sendable, Equatable {
        public var id: TicketID

        public init(id: TicketID) { self.id = id }
    }

    public struct Heartbeat: Sendable, Equatable {
        public var sender: String
        public var inFlight: Int

        public init(sender: String, inFlight: Int) {
            self.sender = sender
            self.inFlight = inFlight
        }
    }

    public struct NotLeader: Sendable, Equatable {
        public var scheduler: String

        public init(scheduler: String) { self.scheduler = scheduler }
    }

    public struct Wake: Sendable, Equatable {
        public var ticket: TicketID?

        public init(ticket: TicketID?) { self.ticket = ticket }
    }

    public struct Bye: Sendable, Equatable {
        public var sender: String

        public init(sender: String) { self.sender = sender }
    }

    public struct Cancel: Sendable, Equatable {
        public var ticket: TicketID

        public init(ticket: TicketID) { self.ticket = ticket }
    }

    public var typeName: String {
        switch self {
        case .hello: "HELLO"
        case .credit: "CREDIT"
        case .tickets: "TICKETS"
        case .heartbeat: "HEARTBEAT"
        case .notLeader: "NOTLEADER"
        case .wake: "WAKE"
        case .bye: "BYE"
        case .cancel: "CANCEL"
        }
    }

    /// The three frames of this message.
    public func encode() -> [[UInt8]] {
        var out: WireWriter
        switch self {
        case .hello(let body):
            out = WireWriter(capacity: 96 + body.executor.utf8.count + body.queues.count * 16)
            body.write(to: &out)
        case .credit(let body):
            out = WireWriter(capacity: 32 + body.executor.utf8.count)
            body.write(to: &out)
        case .tickets(let notices):
            out = WireWriter(capacity: notices.count * 74 + 2)
            TicketNotice.write(notices, to: &out)
        case .heartbeat(let body):
            out = WireWriter(capacity: 48 + body.sender.utf8.count)
            body.write(to: &out)
        case .notLeader(let body):
            out = WireWriter(capacity: 32 + body.scheduler.utf8.count)
            body.write(to: &out)
        case .wake(let body):
            out = WireWriter(capacity: 80)
            body.write(to: &out)
        case .bye(let body):
            out = WireWriter(capacity: 32 + body.sender.utf8.count)
            body.write(to: &out)
        case .cancel(let body):
            out = WireWriter(capacity: 80)
            body.write(to: &out)
        }
        return [Array(WireMessage.protocolTag.utf8), Array(typeName.utf8), out.bytes]
    }

    /// Parses three frames; anything else is a `WireError` the caller counts and drops.
    public static func decode(_ frames: [[UInt8]]) throws(WireError) -> WireMessage {
        guard frames.count == 3 else { throw WireError(.frameCount, "expected 3 frames, got \(frames.count)") }
        guard frames[0].elementsEqual(protocolTag.utf8) else {
            throw WireError(.badTag, "expected tag \(protocolTag)")
        }
        let total = frames.reduce(0) { $0 + $1.count }
        guard total <= maximumSize else { throw WireError(.tooLarge, "message of \(total) bytes exceeds \(maximumSize)") }
        let type = String(decoding: frames[1], as: UTF8.self)
        let payload = frames[2]
        switch type {
        case "HELLO": return .hello(try WireReader.read(payload, type: type) { reader throws(WireError) in try Hello(reading: &reader) })
        case "CREDIT": return .credit(try WireReader.read(payload, type: type) { reader throws(WireError) in try Credit(reading: &reader) })
        case "TICKETS": return .tickets(try WireReader.read(payload, type: type, TicketNotice.read))
        case "HEARTBEAT":
            return .heartbeat(try WireReader.read(payload, type: type) { reader throws(WireError) in try Heartbeat(reading: &reader) })
        case "NOTLEADER":
            return .notLeader(try WireReader.read(payload, type: type) { reader throws(WireError) in try NotLeader(reading: &reader) })
        case "WAKE": return .wake(try WireReader.read(payload, type: type) { reader throws(WireError) in try Wake(reading: &reader) })
        case "BYE": return .bye(try WireReader.read(payload, type: type) { reader throws(WireError) in try Bye(reading: &reader) })
        case "CANCEL": return .cancel(try WireReader.read(payload, type: type) { reader throws(WireError) in try Cancel(reading: &reader) })
        default: throw WireError(.unknownType, "unknown message type \"\(type.prefix(32))\"")
        }
    }
}

public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case frameCount = "frame_count"
        case badTag = "bad_tag"
        case unknownType = "unknown_type"
        case badPayload = "bad_payload"
        case tooLarge = "too_large"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
