/// Appends JSON to a payload, byte for byte as `JSONEncoder` with `.sortedKeys, .withoutEscapingSlashes` writes it
/// (a test compares the two for every message), so peers and captured traffic see the same bytes as before the
/// codec was written by hand. Each message writes its own members, in sorted key order (`WireCodec.swift`).
struct WireWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func byte(_ ascii: Unicode.Scalar) { bytes.append(UInt8(ascii: ascii)) }

    mutating func integer<I: BinaryInteger>(_ value: I) { bytes.append(contentsOf: String(value).utf8) }

    mutating func ticketID(_ id: TicketID) {
        byte("\"")
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: 64))
        bytes.withUnsafeMutableBytes { id.writeHex(into: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
        byte("\"")
    }

    /// `"` and `\` escaped, control characters as `\n`-style or `\u00XX` escapes, everything else (`/` and
    /// non-ASCII included) as is: what `JSONEncoder` writes.
    mutating func string(_ text: String) {
        byte("\"")
        for unit in text.utf8 {
            switch unit {
            case UInt8(ascii: "\""): raw(#"\""#)
            case UInt8(ascii: "\\"): raw(#"\\"#)
            case 0x0A: raw(#"\n"#)
            case 0x0D: raw(#"\r"#)
            case 0x09: raw(#"\t"#)
            case 0x08: raw(#"\b"#)
            case 0x0C: raw(#"\f"#)
            case 0x00..<0x20:
                raw(#"\u00"#)
                bytes.append(Self.hexDigits[Int(unit >> 4)])
                bytes.append(Self.hexDigits[Int(unit & 0xf)])
            default: bytes.append(unit)
            }
        }
        byte("\"")
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
