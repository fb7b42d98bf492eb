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
        .tickets([.init(id: ticket, job: JobID(rawValue: "j"), slot: Timestamp(milliseconds: 1_772_955_000_250), epoch: 7)]),
        .tickets([.init(id: ticket, job: JobID(rawValue: "j"), slot: Timestamp(milliseconds: 0), epoch: nil)]),
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

@Suite("Wire protocol: the hand-written TICKETS and CREDIT codec")
struct WireFastPathTests {
    static func foundationEncoded<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    static func notices(_ count: Int, seed: UInt64) -> [WireMessage.TicketNotice] {
        var generator = SeededGenerator(seed: seed)
        let jobs = ["6f1c2b1e-8a7d-4f7e-9a51-0c3b7d9e2a11", "j", "with \"quote\" and \\ and / and \n\t\u{1}", "ünï"]
        return (0..<count).map { index in
            WireMessage.TicketNotice(
                id: TicketID.manual(job: JobID(rawValue: "j"), idempotencyKey: "\(index)-\(generator.next())"),
                job: JobID(rawValue: jobs[Int(generator.next() % UInt64(jobs.count))]),
                slot: Timestamp(milliseconds: Int64(generator.next() % 4_000_000_000_000)),
                epoch: generator.next() % 3 == 0 ? nil : Int64(generator.next() % 1000))
        }
    }

    @Test(arguments: [0, 1, 7, 200])
    func ticketsEncodeExactlyAsJSONEncoderDoes(count: Int) throws {
        let notices = Self.notices(count, seed: UInt64(count) + 1)
        let frames = WireMessage.tickets(notices).encode()
        #expect(frames[2] == (try Self.foundationEncoded(notices)))
        #expect(try WireMessage.decode(frames) == .tickets(notices))
    }

    @Test(arguments: ["executor-1", "", "quote\" back\\slash"])
    func creditEncodesExactlyAsJSONEncoderDoes(executor: String) throws {
        let credit = WireMessage.Credit(executor: executor, n: 17)
        let frames = WireMessage.credit(credit).encode()
        #expect(frames[2] == (try Self.foundationEncoded(credit)))
        #expect(try WireMessage.decode(frames) == .credit(credit))
    }

    /// What other senders may write: any key order, whitespace, escapes, explicit nulls. The fast reader either
    /// understands it or leaves it to JSONDecoder; either way the result is the same message.
    @Test func otherSpellingsDecodeTheSame() throws {
        let id = TicketID.manual(job: JobID(rawValue: "j"), idempotencyKey: "k")
        let expected = WireMessage.tickets([
            .init(id: id, job: JobID(rawValue: "a/b"), slot: Timestamp(milliseconds: 1_772_955_000_250), epoch: nil)
        ])
        for payload in [
            #" [ { "slot" : "2026-03-08T07:30:00.250Z" , "job":"a/b", "epoch": null, "id":"\#(id.hex)" } ] "#,
            #"[{"id":"\#(id.hex.uppercased())","job":"a\/b","slot":"2026-03-08T07:30:00.250Z"}]"#,
        ] {
            #expect(try WireMessage.decode([Array("BATON/1".utf8), Array("TICKETS".utf8), Array(payload.utf8)]) == expected)
        }
        let credit = [Array("BATON/1".utf8), Array("CREDIT".utf8), Array(#"{ "n" : 3, "executor" : "e\u0031" }"#.utf8)]
        #expect(try WireMessage.decode(credit) == .credit(.init(executor: "e1", n: 3)))
    }

    static let rejected: [String] = [
        #"[{"id":"zz","job":"j","slot":"2026-01-01T00:00:00Z"}]"#,
        #"[{"id":"\#(String(repeating: "a", count: 64))","job":"j"}]"#,
        #"[{"id":"\#(String(repeating: "a", count: 64))","job":"j","slot":"2026-01-01T00:00:00Z","epoch":1.5}]"#,
        #"[{"id":"\#(String(repeating: "a", count: 64))","job":"j","slot":"2026-01-01T00:00:00Z"}] x"#,
        "[", "",
    ]

    @Test(arguments: rejected)
    func malformedTicketsAreStillRejected(payload: String) {
        #expect(throws: WireError.self) {
            try WireMessage.decode([Array("BATON/1".utf8), Array("TICKETS".utf8), Array(payload.utf8)])
        }
    }

    @Test(arguments: [#"{"executor":"e","n":1025}"#, #"{"executor":"e","n":01}"#, #"{"executor":"e"}"#])
    func malformedCreditsAreStillRejected(payload: String) {
        #expect(throws: WireError.self) {
            try WireMessage.decode([Array("BATON/1".utf8), Array("CREDIT".utf8), Array(payload.utf8)])
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
