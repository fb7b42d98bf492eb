import Foundation

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

    public struct Hello: Codable, Sendable, Equatable {
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

    public struct Credit: Codable, Sendable, Equatable {
        public var executor: String
        /// Free slots the sender has right now.
        public var n: Int

        public init(executor: String, n: Int) {
            self.executor = executor
            self.n = n
        }
    }

    public struct TicketNotice: Codable, Sendable, Equatable {
        public var id: TicketID
        public var job: JobID
        public var slot: Timestamp
        public var epoch: Int64?

        public init(id: TicketID, job: JobID, slot: Timestamp, epoch: Int64?) {
            self.id = id
            self.job = job
            self.slot = slot
            self.epoch = epoch
        }
    }

    public struct Heartbeat: Codable, Sendable, Equatable {
        public var sender: String
        public var inFlight: Int

        public init(sender: String, inFlight: Int) {
            self.sender = sender
            self.inFlight = inFlight
        }
    }

    public struct NotLeader: Codable, Sendable, Equatable {
        public var scheduler: String

        public init(scheduler: String) { self.scheduler = scheduler }
    }

    public struct Wake: Codable, Sendable, Equatable {
        public var ticket: TicketID?

        public init(ticket: TicketID?) { self.ticket = ticket }
    }

    public struct Bye: Codable, Sendable, Equatable {
        public var sender: String

        public init(sender: String) { self.sender = sender }
    }

    public struct Cancel: Codable, Sendable, Equatable {
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
        switch self {
        case .tickets(let notices):
            return [Array(WireMessage.protocolTag.utf8), Array(typeName.utf8), WireFastPath.encode(notices)]
        case .credit(let credit):
            return [Array(WireMessage.protocolTag.utf8), Array(typeName.utf8), WireFastPath.encode(credit)]
        default:
            break
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload: Data?
        switch self {
        case .hello(let body): payload = try? encoder.encode(body)
        case .credit(let body): payload = try? encoder.encode(body)
        case .tickets(let body): payload = try? encoder.encode(body)
        case .heartbeat(let body): payload = try? encoder.encode(body)
        case .notLeader(let body): payload = try? encoder.encode(body)
        case .wake(let body): payload = try? encoder.encode(body)
        case .bye(let body): payload = try? encoder.encode(body)
        case .cancel(let body): payload = try? encoder.encode(body)
        }
        // Encoding these plain value types cannot fail; an empty object keeps the frame well-formed regardless.
        return [Array(WireMessage.protocolTag.utf8), Array(typeName.utf8), payload.map { Array($0) } ?? Array("{}".utf8)]
    }

    /// Parses three frames; anything else is a `WireError` the caller counts and drops.
    public static func decode(_ frames: [[UInt8]]) throws(WireError) -> WireMessage {
        guard frames.count == 3 else { throw WireError(.frameCount, "expected 3 frames, got \(frames.count)") }
        guard frames[0].elementsEqual(protocolTag.utf8) else {
            throw WireError(.badTag, "expected tag \(protocolTag)")
        }
        let total = frames.reduce(0) { $0 + $1.count }
        guard total <= maximumSize else { throw WireError(.tooLarge, "message of \(total) bytes exceeds \(maximumSize)") }
        // The per-ticket messages first, without Foundation (see `WireFastPath`); anything unusual falls through.
        if frames[1].elementsEqual("CREDIT".utf8), let credit = WireFastPath.decodeCredit(frames[2]) {
            guard (0...1024).contains(credit.n) else { throw WireError(.badPayload, "CREDIT n must be 0...1024") }
            return .credit(credit)
        }
        if frames[1].elementsEqual("TICKETS".utf8), let notices = WireFastPath.decodeTickets(frames[2]) {
            return .tickets(notices)
        }
        let type = String(decoding: frames[1], as: UTF8.self)
        let data = Data(frames[2])
        let decoder = JSONDecoder()
        func body<T: Decodable>(_: T.Type) throws(WireError) -> T {
            do {
                return try decoder.decode(T.self, from: data)
            } catch {
                throw WireError(.badPayload, "\(type) payload is not valid: \(error)")
            }
        }
        switch type {
        case "HELLO":
            let hello = try body(Hello.self)
            guard (1...1024).contains(hello.capacity) else { throw WireError(.badPayload, "HELLO capacity must be 1...1024") }
            guard (1...255).contains(hello.executor.utf8.count) else {
                throw WireError(.badPayload, "HELLO executor must be 1 to 255 bytes")
            }
            guard hello.queues.count <= Hello.maximumQueues else {
                throw WireError(.badPayload, "HELLO lists \(hello.queues.count) queues; at most \(Hello.maximumQueues)")
            }
            guard hello.queues.allSatisfy(JobSpec.isValidName) else {
                throw WireError(.badPayload, "HELLO queue names must match [a-z0-9][a-z0-9._-]{0,62}")
            }
            return .hello(hello)
        case "CREDIT":
            let credit = try body(Credit.self)
            guard (0...1024).contains(credit.n) else { throw WireError(.badPayload, "CREDIT n must be 0...1024") }
            return .credit(credit)
        case "TICKETS": return .tickets(try body([TicketNotice].self))
        case "HEARTBEAT": return .heartbeat(try body(Heartbeat.self))
        case "NOTLEADER": return .notLeader(try body(NotLeader.self))
        case "WAKE": return .wake(try body(Wake.self))
        case "BYE": return .bye(try body(Bye.self))
        case "CANCEL": return .cancel(try body(Cancel.self))
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
