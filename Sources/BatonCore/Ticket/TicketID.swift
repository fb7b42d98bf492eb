import Crypto

/// The identity of a job as the ticket hash sees it: a server-assigned lowercase UUID.
///
/// A deleted and re-created job gets a new id, so its slots hash differently and
/// the old job's history can never collide with the new one's (CONTRACT §9a).
public struct JobID: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A ticket's id: the SHA-256 of its content (CONTRACT §6).
///
/// Every scheduler that considers the same (job, slot) derives the same id, and the
/// store's unique index turns a second insert into a no-op. That — not leadership —
/// is what makes a duplicate run impossible.
public struct TicketID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The 32 digest bytes, as stored (a BLOB under a unique index).
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// Parses 64 lowercase or uppercase hex digits.
    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(32)
        var index = 0
        while index < 64 {
            guard let hi = TicketID.nibble(utf8[index]), let lo = TicketID.nibble(utf8[index + 1]) else { return nil }
            out.append(hi << 4 | lo)
            index += 2
        }
        bytes = out
    }

    /// The id of the ticket for a scheduled slot.
    public static func scheduled(job: JobID, slot: Timestamp) -> TicketID {
        TicketID(content: "baton-ticket-v1\n\(job.rawValue)\nslot:\(slot.rfc3339Milliseconds)")
    }

    /// The id of the ticket for a manual trigger with the caller's idempotency key.
    public static func manual(job: JobID, idempotencyKey: String) -> TicketID {
        TicketID(content: "baton-ticket-v1\n\(job.rawValue)\nmanual:\(idempotencyKey)")
    }

    private init(content: String) {
        bytes = Array(SHA256.hash(data: Array(content.utf8)))
    }

    /// Lowercase hex, 64 characters: the ticket id users see and HTTP actions receive as `Idempotency-Key`.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    /// A delay in `[0, bound)` derived from the hash, so every scheduler computes the same one (CONTRACT §4 jitter).
    public func jitter(below bound: TimeSpan) -> TimeSpan {
        guard bound.milliseconds > 0 else { return .zero }
        var prefix: UInt64 = 0
        for byte in bytes.prefix(8) { prefix = prefix << 8 | UInt64(byte) }
        return TimeSpan(milliseconds: Int64(prefix % UInt64(bound.milliseconds)))
    }

    public static func < (lhs: TicketID, rhs: TicketID) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = TicketID(hex: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "a ticket id is 64 hex digits")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
