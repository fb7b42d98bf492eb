/// A strict RFC 8259 reader into ``JSONValue``.
///
/// Why not `JSONDecoder().decode(JSONValue.self, …)`: decoding the enum tries each case in turn, and every failed
/// try throws. A stored job spec took ~250 µs that way; the leader reads one per job revision and each executor one
/// per claimed revision, so 100,000 jobs cost half a minute of CPU before the first tick. This reader takes a few
/// microseconds per spec. It accepts exactly RFC 8259 JSON (no trailing commas, no comments), nests at most
/// ``maximumDepth`` deep, and on duplicate object keys keeps the first value, as `JSONDecoder` did.
extension JSONValue {
    public static let maximumDepth = 256

    public struct ParseError: Error, Sendable, Equatable {
        /// Byte offset of the first offending byte.
        public var offset: Int
        public var reason: String
    }

    public init<Bytes: Collection<UInt8>>(parsing bytes: Bytes) throws(ParseError) {
        let parsed: Result<JSONValue, ParseError> =
            bytes.withContiguousStorageIfAvailable { JSONValue.parse($0) } ?? Array(bytes).withUnsafeBufferPointer { JSONValue.parse($0) }
        self = try parsed.get()
    }

    private static func parse(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, ParseError> {
        var parser = JSONParser(bytes: buffer)
        do throws(JSONValue.ParseError) {
            let value = try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.position == buffer.count else { throw parser.error("unexpected data after the JSON value") }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }
}

private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    func error(_ reason: String) -> JSONValue.ParseError {
        JSONValue.ParseError(offset: position, reason: reason)
    }

    mutating func skipSpace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        guard depth < JSONValue.maximumDepth else { throw error("nested deeper than \(JSONValue.maximumDepth)") }
        skipSpace()
        guard position < bytes.count else { throw error("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONValue.ParseError) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count,
            word.withUTF8Buffer({ $0.elementsEqual(bytes[position..<(position + count)]) })
        else { throw error("invalid literal") }
        position += count
    }

    mutating func expect(_ byte: UInt8) -> Bool {
        skipSpace()
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    mutating func object(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        position += 1  // {
        var members: [String: JSONValue] = [:]
        if expect(UInt8(ascii: "}")) { return .object(members) }
        repeat {
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let key = try string()
            guard expect(UInt8(ascii: ":")) else { throw error("expected ':'") }
            let member = try value(depth: depth + 1)
            if members[key] == nil { members[key] = member }
        } while expect(UInt8(ascii: ","))
        guard expect(UInt8(ascii: "}")) else { throw error("expected ',' or '}'") }
        return .object(members)
    }

    mutating func array(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        position += 1  // [
        var elements: [JSONValue] = []
        if expect(UInt8(ascii: "]")) { return .array(elements) }
        repeat {
            elements.append(try value(depth: depth + 1))
        } while expect(UInt8(ascii: ","))
        guard expect(UInt8(ascii: "]")) else { throw error("expected ',' or ']'") }
        return .array(elements)
    }

    /// At the opening quote. Validates UTF-8 by decoding it; control characters must be escaped.
    mutating func string() throws(JSONValue.ParseError) -> String {
        position += 1  // "
        let start = position
        // Fast path: no escapes.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<position])
                position += 1
                guard let text = String(validating: raw, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw error("unescaped control character in a string") }
            position += 1
        }
        var scalars = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                guard let text = String(validating: scalars, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return text
            case UInt8(ascii: "\\"):
                position += 1
                do {
                    try JSONEscape.decode(bytes, at: &position, into: &scalars)
                } catch {
                    throw self.error(error.rawValue)
                }
            default:
                guard byte >= 0x20 else { throw error("unescaped control character in a string") }
                scalars.append(byte)
                position += 1
            }
        }
        throw error("unterminated string")
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, converted as `Double` does.
    mutating func number() throws(JSONValue.ParseError) -> Double {
        let start = position
        func digits(_ parser: inout JSONParser) -> Int {
            let from = parser.position
            while parser.position < parser.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.position]) {
                parser.position += 1
            }
            return parser.position - from
        }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count else { throw error("invalid number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            guard digits(&self) > 0 else { throw error("invalid number") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw error("invalid number") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw error("invalid number") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw error("number out of range") }
        return value
    }
}
