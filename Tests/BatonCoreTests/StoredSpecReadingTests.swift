import BatonCore
import Foundation
import Testing

/// Stored specs are read leniently (a newer gateway may have written them, CONTRACT §9a "Readiness"); API input
/// stays strict (issue 12, item 3).
@Suite("Reading stored specs")
struct StoredSpecReadingTests {
    static let withFutureFields = """
        {"name": "report", "futureField": 1,
         "schedule": {"every": "1s", "rrule": "FREQ=DAILY"},
         "action": {"http": {"url": "http://reports.test/run", "retryOn": [502]}},
         "policy": {"overlap": "allow", "concurrencyGroup": "db", "retry": {"maxAttempts": 2, "jitter": "full"}}}
        """

    @Test func unknownFieldsAreSkippedInAStoredSpecAndRejectedInInput() throws {
        let stored = try JobSpec.parse(json: Data(Self.withFutureFields.utf8), reading: .stored)
        #expect(stored.name == "report")
        #expect(stored.schedule.kind == .every(.seconds(1)))
        #expect(stored.action == .http(HTTPAction(url: "http://reports.test/run")))
        #expect(stored.policy.overlap == .allow)
        #expect(stored.policy.retry.maxAttempts == 2)

        do {
            _ = try JobSpec.parse(json: Data(Self.withFutureFields.utf8))
            Issue.record("API input with unknown fields must be refused")
        } catch {
            #expect(
                Set(error.issues.map(\.field))
                    == ["futureField", "schedule.rrule", "action.http.retryOn", "policy.concurrencyGroup", "policy.retry.jitter"])
        }
    }

    /// Whether this host can evaluate a schedule is the planner's question: the spec itself still reads.
    @Test func aTimeZoneThisHostLacksStillReadsFromStorage() throws {
        let json = #"{"name": "mars", "schedule": {"cron": "0 * * * *", "timezone": "Mars/Olympus_Mons"}, "action": {"noop": {}}}"#
        let stored = try JobSpec.parse(json: Data(json.utf8), reading: .stored)
        #expect(stored.schedule.timezone == "Mars/Olympus_Mons")
        #expect(throws: CronError.self) { try Schedule(stored.schedule, createdAt: Timestamp(milliseconds: 0)) }
        #expect(throws: SpecValidationError.self) { try JobSpec.parse(json: Data(json.utf8)) }
    }

    /// Lenient is not anything-goes: a value this build cannot represent is still an error, in both modes.
    @Test(arguments: [
        #"{"name": "x", "schedule": {"every": "1s"}, "action": {"noop": {}}, "policy": {"overlap": "queue"}}"#,
        #"{"name": "x", "schedule": {"rrule": "FREQ=DAILY"}, "action": {"noop": {}}}"#,
        #"{"name": "x", "schedule": {"every": "1s"}, "action": {"grpc": {}}}"#,
        #"{"name": "x", "schedule": {"every": "1s"}"#,
    ])
    func aValueThisBuildCannotRepresentStillFails(_ json: String) {
        #expect(throws: SpecValidationError.self) { try JobSpec.parse(json: Data(json.utf8), reading: .stored) }
    }
}
