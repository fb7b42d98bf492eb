import BatonCore
import BatonTestSupport
import Foundation
import Testing

@Suite("Wire protocol")
struct WireMessageTests {
    static let ticket = TicketID.manual(job: JobID(rawValue: "j"), idempotencyKey: "k")

    static let samples: [WireMessage] = [
        .hello(.init(executor: "host-1-abc", capacity: 16, version: "0.1.0", queues: ["default", "gpu"])),
        .credit(.init(executor: "host-1-abc", n: 3)),
        .tickets([.init(id: ticket)]),
        .tickets([]),
        .wake(.init(ticket: nil)),
        .heartbeat(.init(sender: "e", inFlight: 2)),
        .notLeader(.init(scheduler: "s")),
        .wake(.init(ticket: ticket)),
        .bye(.init(sender: "e")),
        .cancel(.init(ticket: ticket)),
    ]

    @Test(arguments: samples)
    func roundTrips(message: WireMessage) throws {
        let frames = message.encode()
        #expect(frames.count == 3)
        #expect(frames[0] == Array("BATON/1".utf8))
        #expect(try WireMessage.decode(frames) == message)
    }

    /// The leader uses a WAKE's ticket id (a manual ticket may sort behind its cursor); a WAKE from a gateway that
    /// sends none (`{}`) or an unknown extra field must still be accepted, as a plain "look now".
    @Test func aWakeWithoutATicketIdIsStillAccepted() throws {
        #expect(try WireMessage.decode(Self.frames("WAKE", "{}")) == .wake(.init(ticket: nil)))
        #expect(try WireMessage.decode(Self.frames("WAKE", #"{"reason":"manual"}"#)) == .wake(.init(ticket: nil)))
        let withID = WireMessage.wake(.init(ticket: Self.ticket)).encode()
        #expect(String(decoding: withID[2], as: UTF8.self).contains(#""ticket""#))
    }

    static let tag = Array("BATON/1".utf8)

    static func frames(_ type: String, _ payload: String) -> [[UInt8]] {
        [tag, Array(type.utf8), Array(payload.utf8)]
    }

    static let malformed: [([[UInt8]], WireError.Code)] = [
        ([], .frameCount),
        ([tag, Array("HELLO".utf8)], .frameCount),
        ([Array("BATON/2".utf8), Array("HELLO".utf8), Array("{}".utf8)], .badTag),
        (frames("HELLO", "{not json"), .badPayload),
        (frames("HELLO", #"{"executor":"e","capacity":0,"version":"1","queues":[]}"#), .badPayload),
        (frames("CREDIT", #"{"executor":"e","n":-1}"#), .badPayload),
        (frames("TICKETS", #"[{"id":"zz","job":"j","slot":"2026-01-01T00:00:00Z"}]"#), .badPayload),
        (frames("SHUTDOWN", "{}"), .unknownType),
        ([tag, Array("WAKE".utf8), [UInt8](repeating: 32, count: (1 << 20) + 1)], .tooLarge),
        (frames("HEARTBEAT", #"{"sender":"e"}"#), .badPayload),
        (frames("HEARTBEAT", #"{"sender":"e","inFlight":"2"}"#), .badPayload),
        (frames("NOTLEADER", #"{"scheduler":null}"#), .badPayload),
        (frames("WAKE", #"{"ticket":"zz"}"#), .badPayload),
        (frames("WAKE", #"{"ticket":7}"#), .badPayload),
        (frames("WAKE", "[]"), .badPayload),
        (frames("BYE", "{}"), .badPayload),
        (frames("CANCEL", #"{"ticket":null}"#), .badPayload),
        (frames("CANCEL", #"{"ticket":"\#(String(repeating: "a", count: 63))"}"#), .badPayload),
    ]

    @Test(arguments: malformed)
    func rejectsMalformedFrames(frames: [[UInt8]], code: WireError.Code) {
        var caught: WireError?
        do {
            _ = try WireMessage.decode(frames)
        } catch {
            caught = error
        }
        #expect(caught?.code == code)
    }
}

@Suite("Wire protocol: one tokenizer, one writer per message")
struct WireCodecTests {
    static let tag = Array("BATON/1".utf8)
    static let id = TicketID.manual(job: JobID(rawValue: "j"), idempotencyKey: "k")

    static func decode(_ type: String, _ payload: String) throws(WireError) -> WireMessage {
        try WireMessage.decode([tag, Array(type.utf8), Array(payload.utf8)])
    }

    // What `JSONEncoder` wrote for each message before the codec was written by hand: the test's own shapes, so the
    // codec under test shares nothing with the reference.
    struct HelloShape: Encodable { var executor: String, capacity: Int, version: String, queues: [String] }
    struct CreditShape: Encodable { var executor: String, n: Int }
    struct NoticeShape: Encodable { var id: String }
    struct HeartbeatShape: Encodable { var sender: String, inFlight: Int }
    struct NotLeaderShape: Encodable { var scheduler: String }
    struct TicketShape: Encodable { var ticket: String? }
    struct ByeShape: Encodable { var sender: String }

    static func foundationEncoded(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    static let awkward = ["host-1", "", "quote\" back\\slash / slash", "ctl \n\t\r\u{8}\u{c}\u{1}\u{1f}\u{7f}", "ünï 💥"]

    @Test(arguments: awkward)
    func everyMessageIsWrittenExactlyAsJSONEncoderWroteIt(text: String) throws {
        let ids = [Self.id, TicketID.manual(job: JobID(rawValue: "x"), idempotencyKey: text)]
        let pairs: [(WireMessage, [UInt8])] = [
            (.hello(.init(executor: text, capacity: 16, version: text, queues: ["default", text])),
             try Self.foundationEncoded(HelloShape(executor: text, capacity: 16, version: text, queues: ["default", text]))),
            (.hello(.init(executor: text, capacity: 1, version: "", queues: [])),
             try Self.foundationEncoded(HelloShape(executor: text, capacity: 1, version: "", queues: []))),
            (.credit(.init(executor: text, n: 17)), try Self.foundationEncoded(CreditShape(executor: text, n: 17))),
            (.tickets(ids.map { .init(id: $0) }), try Self.foundationEncoded(ids.map { NoticeShape(id: $0.hex) })),
            (.tickets([]), try Self.foundationEncoded([NoticeShape]())),
            (.heartbeat(.init(sender: text, inFlight: -3)), try Self.foundationEncoded(HeartbeatShape(sender: text, inFlight: -3))),
            (.notLeader(.init(scheduler: text)), try Self.foundationEncoded(NotLeaderShape(scheduler: text))),
            (.wake(.init(ticket: Self.id)), try Self.foundationEncoded(TicketShape(ticket: Self.id.hex))),
            (.wake(.init(ticket: nil)), try Self.foundationEncoded(TicketShape(ticket: nil))),
            (.bye(.init(sender: text)), try Self.foundationEncoded(ByeShape(sender: text))),
            (.cancel(.init(ticket: Self.id)), try Self.foundationEncoded(TicketShape(ticket: Self.id.hex))),
        ]
        for (message, expected) in pairs {
            let frames = message.encode()
            #expect(String(decoding: frames[2], as: UTF8.self) == String(decoding: expected, as: UTF8.self), "\(message.typeName)")
            // A HELLO with these names is not valid to read (queue names are restricted); the others must read back.
            if case .hello = message { continue }
            #expect(try WireMessage.decode(frames) == message)
        }
    }

    /// Executors claim by id and read the rest from the database, so a notice is `{"id": …}` (74 bytes), not the
    /// 170-odd bytes `{epoch, id, job, slot}` took.
    @Test func aTicketNoticeCarriesOnlyItsID() {
        let payload = WireMessage.tickets([.init(id: Self.id)]).encode()[2]
        #expect(String(decoding: payload, as: UTF8.self) == #"[{"id":"\#(Self.id.hex)"}]"#)
    }

    /// What older leaders and other senders write: the notice's former `job`, `slot`, `epoch` (any values, even ones
    /// those fields never held), any key order, whitespace, escapes, uppercase hex. All of it reads as the id alone.
    @Test(arguments: [
        #"[{"epoch":7,"id":"\#(id.hex)","job":"j","slot":"2026-03-08T07:30:00.250Z"}]"#,
        #" [ { "slot" : "2026-03-08T07:30:00.250Z" , "job":"a\/b", "epoch": null, "id":"\#(id.hex)" } ] "#,
        #"[{"id":"\#(id.hex.uppercased())","job":"j"}]"#,
        #"[{"id":"\#(id.hex)","job":"j","slot":"2026-01-01T00:00:00Z","epoch":1.5}]"#,
        #"[{"id":"\#(escapedID)"}]"#,
        #"[{"id":"\#(id.hex)","id":"zz","future":{"nested":[1,2.5e3,true,false,null,"\ud83d\udca5",{}]}}]"#,
    ])
    func otherSpellingsOfANoticeReadTheSame(payload: String) throws {
        #expect(try Self.decode("TICKETS", payload) == .tickets([.init(id: Self.id)]))
    }

    /// Forward compatibility: a newer sender's extra members, of any kind, are skipped in every message; of a
    /// repeated member the first counts (as `JSONDecoder` kept it).
    @Test func unknownMembersAreSkippedInEveryMessage() throws {
        let extra = #""zz":{"a":[[],{},"s\"",-0.5E-3,true,null]},"n0":null"#
        let cases: [(String, String, WireMessage)] = [
            ("HELLO", #"{\#(extra),"executor":"e","capacity":4,"version":"1","queues":["q"],"capacity":9}"#,
             .hello(.init(executor: "e", capacity: 4, version: "1", queues: ["q"]))),
            ("CREDIT", #"{"n":3,\#(extra),"executor":"e\u0031","n":"x"}"#, .credit(.init(executor: "e1", n: 3))),
            ("HEARTBEAT", #"{"inFlight":2e0,\#(extra),"sender":"e"}"#, .heartbeat(.init(sender: "e", inFlight: 2))),
            ("NOTLEADER", #"{"scheduler":"s",\#(extra)}"#, .notLeader(.init(scheduler: "s"))),
            ("WAKE", #"{\#(extra)}"#, .wake(.init(ticket: nil))),
            ("WAKE", #"{"ticket":null,\#(extra)}"#, .wake(.init(ticket: nil))),
            ("WAKE", #"{"ticket":"\#(Self.id.hex)",\#(extra)}"#, .wake(.init(ticket: Self.id))),
            ("BYE", #"{\#(extra),"sender":"e"}"#, .bye(.init(sender: "e"))),
            ("CANCEL", #"{"ticket":"\#(Self.id.hex)",\#(extra),"ticket":"zz"}"#, .cancel(.init(ticket: Self.id))),
        ]
        for (type, payload, expected) in cases {
            #expect(try Self.decode(type, payload) == expected, "\(type) \(payload)")
        }
    }

    static let hex = id.hex
    /// The id with its first digit written as a `\u00XX` escape.
    static let escapedID = #"\u00"# + String(id.hex.first!.asciiValue!, radix: 16) + id.hex.dropFirst()

    /// Malformed JSON and wrong shapes, in every message the tokenizer reads: all `bad_payload`.
    @Test(arguments: [
        ("TICKETS", ""), ("TICKETS", "["), ("TICKETS", "[,]"), ("TICKETS", #"[{"id":"\#(hex)"},]"#), ("TICKETS", "{}"),
        ("TICKETS", #"[{"id":"\#(hex)"}] x"#), ("TICKETS", #"[{"job":"j"}]"#), ("TICKETS", #"[{"id":null}]"#),
        ("TICKETS", #"[{"id":"\#(hex)","x":01}]"#), ("TICKETS", #"[{"id":"\#(hex)","x":tru}]"#), ("TICKETS", #"[{"id":"\#(hex)" "x":1}]"#),
        ("TICKETS", #"[{"id":"\#(hex)","x":"\q"}]"#), ("TICKETS", #"[{"id":"\#(hex)","x":"\ud800"}]"#),
        ("TICKETS", #"[{"id":"\#(hex)","x":"\udc00\ud800"}]"#), ("TICKETS", #"[{"id":"\#(hex)","x":"\u12"}]"#),
        ("TICKETS", "[{\"id\":\"\(hex)\",\"x\":\"tab\there\"}]"), ("TICKETS", #"[{"id":"\#(hex)","x":"open}]"#),
        ("TICKETS", #"[{"id":"\#(hex)","x":-}]"#), ("TICKETS", #"[{"id":"\#(hex)","x":1.}]"#), ("TICKETS", #"[{"id":"\#(hex)","x":1e}]"#),
        ("TICKETS", #"[{"id":"\#(hex)",1:2}]"#), ("TICKETS", #"[{"id":"\#(hex)","x" 2}]"#),
        ("HELLO", #"{"executor":"e","capacity":4,"version":"1"}"#),
        ("HELLO", #"{"executor":"e","capacity":4.5,"version":"1","queues":[]}"#),
        ("HELLO", #"{"executor":"e","capacity":4,"version":1,"queues":[]}"#),
        ("HELLO", #"{"executor":"e","capacity":4,"version":"1","queues":"default"}"#),
        ("HELLO", #"{"executor":"e","capacity":4,"version":"1","queues":[null]}"#),
        ("HELLO", #"{"executor":"e","capacity":99999999999999999999,"version":"1","queues":[]}"#),
        ("CREDIT", #"{"executor":"e","n":1025}"#), ("CREDIT", #"{"executor":"e","n":01}"#), ("CREDIT", #"{"executor":"e"}"#),
        ("CREDIT", #"{"executor":"e","n":-0.5}"#), ("CREDIT", #"{"executor":"e","n":1e400}"#), ("CREDIT", #"{"executor":"e","n":true}"#),
        ("HEARTBEAT", #"{"sender":"e","inFlight":null}"#), ("HEARTBEAT", #"{"sender":["e"],"inFlight":1}"#),
        ("NOTLEADER", "{}"), ("NOTLEADER", #"{"scheduler":"s""#), ("NOTLEADER", #""s""#),
        ("WAKE", #"{"ticket":"\#(hex)x"}"#), ("WAKE", #"{"ticket":"\#(hex)"#), ("WAKE", "null"), ("WAKE", ""),
        ("BYE", #"{"sender":1}"#), ("BYE", #"{"sender":"e"}}"#),
        ("CANCEL", "{}"), ("CANCEL", #"{"ticket":["\#(hex)"]}"#),
    ])
    func malformedPayloadsAreRejected(type: String, payload: String) {
        let error = #expect(throws: WireError.self) { try Self.decode(type, payload) }
        #expect(error?.code == .badPayload)
    }

    /// Invalid UTF-8 in a string is refused, as `JSONDecoder` refused it (a byte string, not a Swift string literal).
    @Test func invalidUTF8IsRejected() {
        let payload = Array(#"{"sender":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(throws: WireError.self) { try WireMessage.decode([Self.tag, Array("BYE".utf8), payload]) }
    }

    /// Nesting is bounded: a frame of brackets is refused, never a stack overflow, however deep within the size limit.
    @Test(arguments: [33, 100_000, (1 << 19) - 64])
    func deepNestingIsRejected(depth: Int) {
        let payload = #"{"sender":"e","x":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
        #expect(throws: WireError.self) { try Self.decode("BYE", payload) }
        // 32 levels, the most a skipped member may nest.
        let shallow = #"{"sender":"e","x":"# + String(repeating: "[", count: 32) + String(repeating: "]", count: 32) + "}"
        #expect(throws: Never.self) { try Self.decode("BYE", shallow) }
    }

    /// Random damage to valid frames of every type: each result is a message that writes back and reads the same,
    /// or a `bad_payload`; nothing crashes.
    @Test(arguments: 0..<4)
    func damagedFramesAreRejectedOrReadConsistently(seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed) &* 0x9E37_79B9 &+ 1)
        let alphabet = Array(#"{}[]":,\ 0123456789-+.eEtrufalsn"u"#.utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xFF]
        for sample in WireMessageTests.samples {
            let frames = sample.encode()
            for _ in 0..<300 {
                var payload = frames[2]
                for _ in 0...Int(random.next() % 3) {
                    let at = payload.isEmpty ? 0 : Int(random.next() % UInt64(payload.count))
                    switch random.next() % 3 {
                    case 0 where !payload.isEmpty: payload.remove(at: at)
                    case 1: payload.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: at)
                    default: if !payload.isEmpty { payload[at] = alphabet[Int(random.next() % UInt64(alphabet.count))] }
                    }
                }
                let message: WireMessage
                do {
                    message = try WireMessage.decode([frames[0], frames[1], payload])
                } catch {
                    #expect(error.code == .badPayload, "\(String(decoding: payload, as: UTF8.self))")
                    continue
                }
                #expect(try WireMessage.decode(message.encode()) == message)
            }
        }
    }
}

@Suite("HELLO limits and the rejection log")
struct HelloLimitTests {
    func helloFrames(_ json: String) -> [[UInt8]] {
        [Array("BATON/1".utf8), Array("HELLO".utf8), Array(json.utf8)]
    }

    @Test func helloIsCappedAtThirtyTwoValidQueues() throws {
        let queues = (0..<32).map { "\"q\($0)\"" }.joined(separator: ",")
        let ok = try WireMessage.decode(helloFrames(#"{"executor":"e","capacity":4,"version":"1","queues":[\#(queues)]}"#))
        guard case .hello(let hello) = ok else { Issue.record("not a HELLO"); return }
        #expect(hello.queues.count == 32)
        for bad in [
            #"{"executor":"e","capacity":4,"version":"1","queues":[\#(queues),"q32"]}"#,
            #"{"executor":"e","capacity":4,"version":"1","queues":["Not a queue"]}"#,
            #"{"executor":"e","capacity":4,"version":"1","queues":[""]}"#,
            #"{"executor":"","capacity":4,"version":"1","queues":[]}"#,
            #"{"executor":"\#(String(repeating: "x", count: 256))","capacity":4,"version":"1","queues":[]}"#,
        ] {
            #expect(throws: WireError.self) { try WireMessage.decode(helloFrames(bad)) }
        }
    }

    @Test func theRejectionLogWritesOneLinePerPeerPerIntervalAndCountsTheRest() {
        var throttle = LogThrottle(interval: .seconds(10), maximumKeys: 3)
        let t0 = Timestamp(milliseconds: 1_000_000)
        #expect(throttle.admit("a", now: t0) == 0)
        for n in 1...500 { #expect(throttle.admit("a", now: t0 + .milliseconds(Int64(n))) == nil) }
        #expect(throttle.admit("b", now: t0 + .seconds(1)) == 0, "another peer has its own budget")
        #expect(throttle.admit("a", now: t0 + .milliseconds(9_999)) == nil)
        #expect(throttle.admit("a", now: t0 + .seconds(10)) == 501, "the next line says how many were left out")
        #expect(throttle.admit("a", now: t0 + .seconds(11)) == nil)
    }

    @Test func theRejectionLogKeepsABoundedTableWhateverPeersCallThemselves() {
        var throttle = LogThrottle(interval: .seconds(10), maximumKeys: 3)
        let t0 = Timestamp(milliseconds: 1_000_000)
        var written = 0
        for n in 0..<10_000 where throttle.admit("peer-\(n)", now: t0 + .milliseconds(Int64(n / 100))) != nil {
            written += 1
        }
        #expect(written == 4, "three peers, then one line for all the others")
        #expect(throttle.admit("late", now: t0 + .seconds(20)) == 0, "stale keys make room again")
    }
}
