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
    /// The digest as four big-endian words: inline, so ids hash, compare and copy without touching the heap
    /// (the leader and the executors keep dictionaries and sets of them at thousands of tickets a second).
    private let w0, w1, w2, w3: UInt64

    /// The 32 digest bytes, as stored (a BLOB under a unique index).
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        for word in [w0, w1, w2, w3] {
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return out
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.init(bytes32: bytes)
    }

    /// Exactly 32 bytes (checked by the callers).
    private init<Bytes: Collection<UInt8>>(bytes32 bytes: Bytes) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        for (index, byte) in bytes.enumerated() {
            let value = UInt64(byte)
            switch index >> 3 {
            case 0: words.0 = words.0 << 8 | value
            case 1: words.1 = words.1 << 8 | value
            case 2: words.2 = words.2 << 8 | value
            default: words.3 = words.3 << 8 | value
            }
        }
        (w0, w1, w2, w3) = words
    }

    /// A 32-byte buffer, e.g. a BLOB column; nil for any other length.
    public init?(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count == 32 else { return nil }
        self.init(bytes32: buffer)
    }

    /// Parses 64 lowercase or uppercase hex digits.
    public init?(hex: String) {
        guard let id = hex.utf8.withContiguousStorageIfAvailable({ TicketID(hexDigits: $0) }) ?? TicketID(hexDigits: Array(hex.utf8))
        else { return nil }
        self = id
    }

    /// Parses 64 hex digits (e.g. straight from a wire frame, without making a String first).
    public init?<Digits: RandomAccessCollection<UInt8>>(hexDigits digits: Digits) where Digits.Index == Int {
        guard digits.count == 64 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var index = digits.startIndex
        for word in 0..<4 {
            var value: UInt64 = 0
            for _ in 0..<16 {
                guard let nibble = TicketID.nibble(digits[index]) else { return nil }
                value = value << 4 | UInt64(nibble)
                index += 1
            }
            switch word {
            case 0: words.0 = value
            case 1: words.1 = value
            case 2: words.2 = value
            default: words.3 = value
            }
        }
        (w0, w1, w2, w3) = words
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
        self = SHA256.hash(data: Array(content.utf8)).withUnsafeBytes { TicketID(bytes32: $0) }
    }

    /// Lowercase hex, 64 characters: the ticket id users see and HTTP actions receive as `Idempotency-Key`.
    public var hex: String {
        String(unsafeUninitializedCapacity: 64) { buffer in
            writeHex(into: UnsafeMutableRawBufferPointer(buffer))
            return 64
        }
    }

    /// Writes the 64 lowercase hex digits at the start of `buffer` (which must have room for them).
    public func writeHex(into buffer: UnsafeMutableRawBufferPointer) {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { digits in
            var offset = 0
            for word in [w0, w1, w2, w3] {
                for shift in stride(from: 60, through: 0, by: -4) {
                    buffer[offset] = digits[Int(truncatingIfNeeded: (word >> UInt64(shift)) & 0xf)]
                    offset += 1
                }
            }
        }
    }

    public var description: String { hex }

    /// A delay in `[0, bound)` derived from the hash, so every scheduler computes the same one (CONTRACT §4 jitter).
    public func jitter(below bound: TimeSpan) -> TimeSpan {
        guard bound.milliseconds > 0 else { return .zero }
        // The first 8 digest bytes, big-endian.
        return TimeSpan(milliseconds: Int64(w0 % UInt64(bound.milliseconds)))
    }

    /// Byte order: big-endian words compare as their bytes would.
    public static func < (lhs: TicketID, rhs: TicketID) -> Bool {
        (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
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
