/// JSON string escapes (RFC 8259 §7), decoded once for both of Baton's JSON readers: the spec reader
/// (`JSONValue+Parse`) and the wire reader (`WireReader`). Each maps a failure to its own error type.
enum JSONEscape {
    enum Failure: String, Error {
        case unterminated = "unterminated escape"
        case invalid = "invalid escape"
        case invalidUnicode = "invalid \\u escape"
        case unpairedSurrogate = "unpaired surrogate"
    }

    /// Decodes the escape that starts at `position` (the byte after the backslash) into `out` as UTF-8, and moves
    /// `position` past it. A surrogate pair is two `\u` escapes and must come whole.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at position: inout Int, into out: inout [UInt8]) throws(Failure) {
        guard position < bytes.count else { throw .unterminated }
        let escaped = bytes[position]
        position += 1
        switch escaped {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var code = try hex4(bytes, at: &position)
            if (0xD800..<0xDC00).contains(code) {
                guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                else { throw .unpairedSurrogate }
                position += 2
                let low = try hex4(bytes, at: &position)
                guard (0xDC00..<0xE000).contains(low) else { throw .unpairedSurrogate }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(code) {
                throw .unpairedSurrogate
            }
            guard let scalar = Unicode.Scalar(code) else { throw .invalidUnicode }
            out.append(contentsOf: String(Character(scalar)).utf8)
        default:
            throw .invalid
        }
    }

    private static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, at position: inout Int) throws(Failure) -> UInt32 {
        guard bytes.count - position >= 4 else { throw .invalidUnicode }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw .invalidUnicode
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }
}
