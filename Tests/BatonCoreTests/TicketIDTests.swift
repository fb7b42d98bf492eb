import BatonCore
import Foundation
import Testing

@Suite("Ticket identity")
struct TicketIDTests {
    let job = JobID(rawValue: "3f0c1d9e-8a4b-4c2f-9e1a-6b7d5c4e3a21")

    // Expected digests computed independently with Python's hashlib over the contract's text.
    @Test func scheduledSlotHashMatchesContractText() throws {
        let slot = try #require(Timestamp(rfc3339: "2026-03-08T07:30:00Z"))
        let id = TicketID.scheduled(job: job, slot: slot)
        #expect(id.hex == "07c3b56cdab3a813e1903368b24fb748cd1beb890aea775b3a0914c520c028d6")
    }

    @Test func manualTriggerHashMatchesContractText() {
        let id = TicketID.manual(job: job, idempotencyKey: "deploy-42")
        #expect(id.hex == "ffdbe08e4c29e006788788a4b4f4ebbb600f284ed77ab50896755777349fa862")
    }

    @Test func sameSlotSameIdDifferentSlotDifferentId() {
        let a = TicketID.scheduled(job: job, slot: Timestamp(milliseconds: 1_772_955_000_000))
        let b = TicketID.scheduled(job: job, slot: Timestamp(milliseconds: 1_772_955_000_000))
        let c = TicketID.scheduled(job: job, slot: Timestamp(milliseconds: 1_772_955_000_001))
        let other = TicketID.scheduled(job: JobID(rawValue: "another"), slot: Timestamp(milliseconds: 1_772_955_000_000))
        #expect(a == b)
        #expect(a != c)
        #expect(a != other)
    }

    @Test func hexRoundTripsAndRejectsBadInput() throws {
        let id = TicketID.manual(job: job, idempotencyKey: "x")
        #expect(TicketID(hex: id.hex) == id)
        #expect(TicketID(hex: id.hex.uppercased()) == id)
        #expect(TicketID(hex: String(id.hex.dropLast())) == nil)
        #expect(TicketID(hex: String(id.hex.dropLast()) + "g") == nil)
        #expect(TicketID(bytes: [1, 2, 3]) == nil)
    }

    /// The id is kept as four words; bytes, hex and ordering must still be those of the 32 digest bytes.
    @Test func bytesHexAndOrderAgree() throws {
        let ids = (0..<64).map { TicketID.manual(job: job, idempotencyKey: "k\($0)") }
        for id in ids {
            let bytes = id.bytes
            #expect(bytes.count == 32)
            #expect(TicketID(bytes: bytes) == id)
            #expect(bytes.withUnsafeBytes { TicketID($0) } == id)
            #expect(id.hex == bytes.map { String(format: "%02x", $0) }.joined())
        }
        let sorted = ids.sorted()
        #expect(sorted.map(\.bytes) == ids.map(\.bytes).sorted { $0.lexicographicallyPrecedes($1) })
        #expect(Set(ids).count == ids.count)
    }

    @Test func jitterIsDerivedFromTheHashAndBounded() throws {
        let slot = try #require(Timestamp(rfc3339: "2026-03-08T07:30:00Z"))
        let id = TicketID.scheduled(job: job, slot: slot)
        // First 8 bytes big-endian mod 30000, computed with Python.
        #expect(id.jitter(below: .seconds(30)) == .milliseconds(15955))
        #expect(id.jitter(below: .zero) == .zero)
        for n in 0..<200 {
            let other = TicketID.manual(job: job, idempotencyKey: "k\(n)")
            #expect(other.jitter(below: .milliseconds(7)) < .milliseconds(7))
        }
    }
}
