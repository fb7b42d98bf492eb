/// The one JSON tokenizer every wire payload is read with: a pull reader over the payload's bytes.
///
/// Why by hand and not `JSONDecoder`: Foundation's coders were 11 % of the leader's CPU at 10,000 tickets/s
/// (Docs/Benchmarks.md, item 8), and two readers (a fast scanner plus `JSONDecoder` for anything unusual) meant two
/// sets of acceptance rules. This one accepts RFC 8259 JSON as `JSONDecoder` does for our shapes: any member order,
/// any whitespace, escapes, unknown members skipped (forward compatibility), the first of duplicate members kept.
///
/// Bounded: values nest at most ``maximumDepth`` deep, so a 1 MiB frame of `[[[[…` cannot exhaust the stack (the
/// payloads we write nest two deep); strings and arrays are bounded by ``WireMessage/maximumSize``, which `decode`
/// checks before any reading, and callers cap element counts while they read (`HELLO` queues).
struct WireReader {
    static let maximumDepth = 32

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    /// The message type, for error messages.
    private let type: String

    init(_ bytes: UnsafeBufferPointer<UInt8>, type: String) {
        self.bytes = bytes
        self.type = type
    }

    /// Reads one payload; the body must consume exactly one top-level value.
    static func read<T>(_ payload: [UInt8], type: String, _ body: (inout WireReader) throws(WireError) -> T) throws(WireError) -> T {
        let result: Result<T, WireError> = payload.withUnsafeBufferPointer { buffer in
            var reader = WireReader(buffer, type: type)
            do throws(WireError) {
                let value = try body(&reader)
                reader.skipSpace()
                guard reader.position == buffer.count else { throw reader.failure("unexpected data after the JSON value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    func failure(_ reason: String) -> WireError {
        WireError(.badPayload, "\(type) payload is not valid: \(reason) at byte \(position)")
    }

    // MARK: Structure

    /// Reads `{ "key": value, … }`, handing each member name to `member`, which must consume the value (read it, or
    /// `skipValue()` it when the name is unknown or repeated).
    mutating func object(_ member: (inout WireReader, String) throws(WireError) -> Void) throws(WireError) {
        guard consume(UInt8(ascii: "{")) else { throw failure("expected an object") }
        if consume(UInt8(ascii: "}")) { return }
        repeat {
            skipSpace()
            guard peek == UInt8(ascii: "\"") else { throw failure("expected a member name") }
            let key = try string()
            guard consume(UInt8(ascii: ":")) else { throw failure("expected ':'") }
            try member(&self, key)
        } while consume(UInt8(ascii: ","))
        guard consume(UInt8(ascii: "}")) else { throw failure("expected ',' or '}'") }
    }

    /// Reads `[ value, … ]`, calling `element` for each, which must consume it.
    mutating func array(_ element: (inout WireReader) throws(WireError) -> Void) throws(WireError) {
        guard consume(UInt8(ascii: "[")) else { throw failure("expected an array") }
        if consume(UInt8(ascii: "]")) { return }
        repeat {
            try element(&self)
        } while consume(UInt8(ascii: ","))
        guard consume(UInt8(ascii: "]")) else { throw failure("expected ',' or ']'") }
    }

    /// Checks and skips any value: an unknown member from a newer sender, or a repeated one.
    mutating func skipValue() throws(WireError) {
        try skipValue(depth: 0)
    }

    private mutating func skipValue(depth: Int) throws(WireError) {
        guard depth < Self.maximumDepth else { throw failure("nested deeper than \(Self.maximumDepth)") }
        skipSpace()
        switch peek {
        case UInt8(ascii: "{"): try object { reader, _ throws(WireError) in try reader.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["): try array { reader throws(WireError) in try reader.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""): try stringBytes { _ in }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), .some(UInt8(ascii: "0")...UInt8(ascii: "9")): _ = try numberToken()
        default: throw failure(position < bytes.count ? "unexpected character" : "unexpected end of input")
        }
    }

    // MARK: Scalars

    /// `null` (consumed, true) or anything else (not consumed, false).
    mutating func null() -> Bool {
        skipSpace()
        guard peek == UInt8(ascii: "n") else { return false }
        return (try? literal("null")) != nil
    }

    mutating func string() throws(WireError) -> String {
        guard let text = try stringBytes({ String(validating: $0, as: UTF8.self) }) else { throw failure("invalid UTF-8 in a string") }
        return text
    }

    /// A ticket id: 64 hex digits, read from the frame without making a String when it has no escapes.
    mutating func ticketID() throws(WireError) -> TicketID {
        guard let id = try stringBytes({ TicketID(hexDigits: $0) }) else { throw failure("a ticket id is 64 hex digits") }
        return id
    }

    /// An integer. `JSONDecoder` also takes an integral number written with a fraction or an exponent (`3.0`,
    /// `1e2`), so this does too; `1.5` or a value beyond `Int` is refused.
    mutating func integer() throws(WireError) -> Int {
        let (start, plain) = try numberToken()
        let token = UnsafeBufferPointer(rebasing: bytes[start..<position])
        if plain {
            var value = 0
            let negative = token[0] == UInt8(ascii: "-")
            for digit in token.dropFirst(negative ? 1 : 0) {
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) =
                    negative ? times.subtractingReportingOverflow(Int(digit &- 48)) : times.addingReportingOverflow(Int(digit &- 48))
                guard !o1, !o2 else { throw failure("integer out of range") }
                value = sum
            }
            return value
        }
        guard let double = Double(String(decoding: token, as: UTF8.self)), let value = Int(exactly: double) else {
            throw failure("expected an integer")
        }
        return value
    }

    // MARK: Tokens

    private var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipSpace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        skipSpace()
        guard peek == byte else { return false }
        position += 1
        return true
    }

    private mutating func literal(_ word: StaticString) throws(WireError) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count, word.withUTF8Buffer({ $0.elementsEqual(bytes[position..<(position + count)]) })
        else { throw failure("invalid literal") }
        position += count
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; returns where it starts and whether it is digits only.
    private mutating func numberToken() throws(WireError) -> (start: Int, plain: Bool) {
        skipSpace()
        let start = position
        func digits(_ reader: inout WireReader) -> Int {
            let from = reader.position
            while let byte = reader.peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { reader.position += 1 }
            return reader.position - from
        }
        if peek == UInt8(ascii: "-") { position += 1 }
        if peek == UInt8(ascii: "0") {
            position += 1
        } else {
            guard digits(&self) > 0 else { throw failure("invalid number") }
        }
        var plain = true
        if peek == UInt8(ascii: ".") {
            position += 1
            plain = false
            guard digits(&self) > 0 else { throw failure("invalid number") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            plain = false
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw failure("invalid number") }
        }
        // `01` is two tokens, which no caller accepts; say so here rather than at the next token.
        if let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { throw failure("leading zero in a number") }
        return (start, plain)
    }

    /// A string's content with escapes resolved, handed to `body` as bytes (not yet checked to be UTF-8). Without
    /// escapes, the common case, `body` sees the frame's own bytes and nothing is copied.
    private mutating func stringBytes<T>(_ body: (UnsafeBufferPointer<UInt8>) -> T) throws(WireError) -> T {
        guard consume(UInt8(ascii: "\"")) else { throw failure("expected a string") }
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return body(UnsafeBufferPointer(rebasing: bytes[start..<(position - 1)]))
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw failure("unescaped control character in a string") }
            position += 1
        }
        var content = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return content.withUnsafeBufferPointer(body)
            case UInt8(ascii: "\\"):
                do {
                    try JSONEscape.decode(bytes, at: &position, into: &content)
                } catch {
                    throw failure(error.rawValue)
                }
            default:
                guard byte >= 0x20 else { throw failure("unescaped control character in a string") }
                content.append(byte)
            }
        }
        throw failure("unterminated string")
    }
}
