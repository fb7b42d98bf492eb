import BatonCore
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
