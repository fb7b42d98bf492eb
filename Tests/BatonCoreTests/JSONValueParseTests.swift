import BatonCore
import BatonTestSupport
import Foundation
import Testing

@Suite("JSONValue: the strict JSON reader")
struct JSONValueParseTests {
    static let valid: [String] = [
        #"{"name":"nightly","schedule":{"cron":"0 3 * * *","timezone":"Europe/Berlin"},"action":{"http":{"url":"https://x/y","headers":{"A":"b"}}},"policy":{"retry":{"maxAttempts":3,"backoff":1.5e0}}}"#,
        #"  [1, -0, 0.5, -12.25e-3, 1E+2, true, false, null, "", [], {}]  "#,
        #""esc: \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 \u0000""#,
        #""ünïcödé ✓ 😀""#,
        #"{"dup": 1, "dup": 2}"#,
        "42",
    ]

    @Test(arguments: valid)
    func agreesWithJSONDecoder(text: String) throws {
        let ours = try JSONValue(parsing: Array(text.utf8))
        let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(ours == foundation)
    }

    static let invalid: [String] = [
        "", " ", "[1,]", #"{"a":1,}"#, "[1 2]", #"{"a" 1}"#, "{a:1}", "01", "1.", ".5", "-", "1e", "+1", "NaN", "tru",
        #""unterminated"#, "\"tab\there\"", #""\x""#, #""\ud800""#, #""\udc00x""#, #""\u12""#, "[1] [2]", "1e999",
        "/* c */ 1", "[" + String(repeating: "[", count: 300) + String(repeating: "]", count: 301),
    ]

    @Test(arguments: invalid)
    func rejectsWhatIsNotJSON(text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: Array(text.utf8)) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: [0x22, 0xC3, 0x28, 0x22]) }
    }

    /// Round trip through JSONEncoder for random trees: what we store, we read back the same.
    @Test func readsBackWhatJSONEncoderWrites() throws {
        var generator = SeededGenerator(seed: 7)
        func tree(_ depth: Int) -> JSONValue {
            switch generator.next() % (depth > 3 ? 4 : 6) {
            case 0: return .null
            case 1: return .bool(generator.next() % 2 == 0)
            case 2: return .number(Double(Int64(bitPattern: generator.next()) % 1_000_000) / 8)
            case 3: return .string(String(decoding: (0..<(generator.next() % 12)).map { _ in UInt8(32 + generator.next() % 95) }, as: UTF8.self))
            case 4: return .array((0..<(generator.next() % 4)).map { _ in tree(depth + 1) })
            default:
                return .object(Dictionary(uniqueKeysWithValues: (0..<(generator.next() % 4)).map { ("k\($0)", tree(depth + 1)) }))
            }
        }
        for _ in 0..<200 {
            let value = tree(0)
            #expect(try JSONValue(parsing: Array(try JSONEncoder().encode(value))) == value)
        }
    }
}
