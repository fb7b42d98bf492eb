import BatonCore
import Foundation
import Testing

@Suite("Job spec")
struct JobSpecTests {
    func parse(_ json: String) throws(SpecValidationError) -> JobSpec {
        try JobSpec.parse(json: Data(json.utf8))
    }

    func issues(_ json: String) -> [FieldIssue] {
        do {
            _ = try parse(json)
            return []
        } catch {
            return error.issues
        }
    }

    @Test func contractExampleParsesWithEveryField() throws {
        let spec = try parse(
            """
            {"name": "nightly-report",
             "schedule": {"cron": "30 2 * * *", "timezone": "Europe/Berlin", "dst": {"gap": "shift", "fold": "auto"}},
             "action": {"http": {"method": "POST", "url": "http://reports:8080/run",
                                 "headers": {"Content-Type": "application/json"}, "body": "{}", "timeout": "30s"}},
             "policy": {"overlap": "forbid", "catchup": "latest", "misfireGrace": "5m", "timeout": "10m",
                        "retry": {"maxAttempts": 3, "initialDelay": "10s", "maxDelay": "10m", "multiplier": 2},
                        "jitter": "0s"},
             "paused": false, "labels": {"team": "billing"}}
            """)
        #expect(spec.name == "nightly-report")
        #expect(spec.schedule.kind == .cron("30 2 * * *"))
        #expect(spec.schedule.timezone == "Europe/Berlin")
        #expect(spec.action == .http(HTTPAction(method: "POST", url: "http://reports:8080/run", headers: ["Content-Type": "application/json"], body: "{}", timeout: .seconds(30))))
        #expect(spec.policy.misfireGrace == .minutes(5))
        #expect(spec.policy.timeout == .minutes(10))
        #expect(spec.labels == ["team": "billing"])
        #expect(spec.queue == "default")
    }

    @Test func absentFieldsTakeTheContractDefaults() throws {
        let spec = try parse(#"{"name": "tick", "schedule": {"every": "1s"}, "action": {"noop": {}}}"#)
        #expect(spec.policy == JobPolicy())
        #expect(spec.policy.overlap == .forbid)
        #expect(spec.policy.catchup == .latest)
        #expect(spec.policy.misfireGrace == .seconds(60))
        #expect(spec.policy.timeout == .hours(1))
        #expect(spec.policy.retry == RetryPolicy(maxAttempts: 3, initialDelay: .seconds(10), maxDelay: .minutes(10), multiplier: 2))
        #expect(spec.policy.jitter == .zero)
        #expect(spec.paused == false)
        #expect(spec.schedule.kind == .every(.seconds(1)))
    }

    @Test func encodingParsesBackToAnEqualSpec() throws {
        let original = try parse(
            #"{"name": "cmd", "schedule": {"at": "2026-12-24T18:00:00Z"}, "action": {"command": {"argv": ["/bin/echo", "hi"], "env": {"A": "1"}, "cwd": "/tmp", "timeout": "5s"}}, "queue": "gpu", "paused": true}"#
        )
        let data = try JSONEncoder().encode(original)
        #expect(try JSONDecoder().decode(JobSpec.self, from: data) == original)
    }

    @Test func serverFieldsAreIgnoredSoGetThenPutWorks() throws {
        let spec = try parse(
            #"{"id": "x", "revision": 4, "state": "active", "nextFireAt": null, "name": "a", "schedule": {"every": "5m"}, "action": {"noop": {}}}"#
        )
        #expect(spec.name == "a")
    }

    @Test(arguments: [
        (#"{"schedule": {"every": "1s"}, "action": {"noop": {}}}"#, "name"),
        (#"{"name": "Bad Name", "schedule": {"every": "1s"}, "action": {"noop": {}}}"#, "name"),
        (#"{"name": "a", "action": {"noop": {}}}"#, "schedule"),
        (#"{"name": "a", "schedule": {}, "action": {"noop": {}}}"#, "schedule"),
        (#"{"name": "a", "schedule": {"every": "1s", "cron": "* * * * *"}, "action": {"noop": {}}}"#, "schedule"),
        (#"{"name": "a", "schedule": {"every": "500ms"}, "action": {"noop": {}}}"#, "schedule.every"),
        (#"{"name": "a", "schedule": {"every": "5x"}, "action": {"noop": {}}}"#, "schedule.every"),
        (#"{"name": "a", "schedule": {"cron": "61 * * * *"}, "action": {"noop": {}}}"#, "schedule.cron"),
        (#"{"name": "a", "schedule": {"cron": "* * * * *", "timezone": "Mars/Olympus"}, "action": {"noop": {}}}"#, "schedule.timezone"),
        (#"{"name": "a", "schedule": {"cron": "* * * * *", "dst": {"gap": "later"}}, "action": {"noop": {}}}"#, "schedule.dst.gap"),
        (#"{"name": "a", "schedule": {"at": "tomorrow"}, "action": {"noop": {}}}"#, "schedule.at"),
        (#"{"name": "a", "schedule": {"every": "1m", "startAt": "2026-01-02T00:00:00Z", "endAt": "2026-01-01T00:00:00Z"}, "action": {"noop": {}}}"#, "schedule.endAt"),
        (#"{"name": "a", "schedule": {"every": "1s"}}"#, "action"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {}}"#, "action"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"noop": {}, "http": {"url": "http://x"}}}"#, "action"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"http": {"url": "ftp://x/y"}}}"#, "action.http.url"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"http": {"url": "/relative"}}}"#, "action.http.url"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"http": {}}}"#, "action.http.url"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"http": {"url": "http://x", "method": "FETCH"}}}"#, "action.http.method"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"http": {"url": "http://x", "headers": {"Bad Header": "v"}}}}"#, "action.http.headers.Bad Header"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"command": {"argv": []}}}"#, "action.command.argv"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"command": {"argv": ["x"], "cwd": "rel"}}}"#, "action.command.cwd"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"noop": {}}, "policy": {"overlap": "sometimes"}}"#, "policy.overlap"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"noop": {}}, "policy": {"retry": {"maxAttempts": 0}}}"#, "policy.retry.maxAttempts"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"noop": {}}, "policy": {"retry": {"maxAttempts": 2.5}}}"#, "policy.retry.maxAttempts"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"noop": {}}, "policy": {"retry": {"multiplier": 0.5}}}"#, "policy.retry.multiplier"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"noop": {}}, "policy": {"retry": {"initialDelay": "1m", "maxDelay": "1s"}}}"#, "policy.retry.maxDelay"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"noop": {}}, "policy": {"timeout": "0s"}}"#, "policy.timeout"),
        (#"{"name": "a", "schedule": {"every": "10s"}, "action": {"noop": {}}, "policy": {"jitter": "10s"}}"#, "policy.jitter"),
        (#"{"name": "a", "schedule": {"every": "1h"}, "action": {"noop": {}}, "policy": {"jitter": "2m", "misfireGrace": "1m"}}"#, "policy.jitter"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"noop": {}}, "paused": "yes"}"#, "paused"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"noop": {}}, "labels": {"team": 5}}"#, "labels.team"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"noop": {}}, "labels": {"team": "a\u0000"}}"#, "labels.team"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"noop": {}}, "queue": "Q!"}"#, "queue"),
        (#"{"name": "a", "schedule": {"every": "1s"}, "action": {"noop": {}}, "shedule": {}}"#, "shedule"),
        (#"[1, 2]"#, "$"),
        (#"{"name": "a""#, "$"),
    ])
    func reportsTheFieldThatIsWrong(json: String, field: String) {
        let found = issues(json)
        #expect(found.contains { $0.field == field }, "issues were \(found)")
    }

    @Test func reportsEveryProblemAtOnce() {
        let found = issues(
            #"{"name": "", "schedule": {"every": "0s"}, "action": {"http": {"url": "nope", "method": "FETCH"}}, "policy": {"catchup": "some"}}"#
        )
        let fields = Set(found.map(\.field))
        #expect(fields.isSuperset(of: ["name", "schedule.every", "action.http.url", "action.http.method", "policy.catchup"]))
    }

    @Test func mergePatchFollowsRFC7396() throws {
        let base = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"a": 1, "b": {"c": 2, "d": 3}, "e": [1]}"#.utf8))
        let patch = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"a": null, "b": {"c": 9}, "e": [2], "f": "new"}"#.utf8))
        let expected = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"b": {"c": 9, "d": 3}, "e": [2], "f": "new"}"#.utf8))
        #expect(base.merging(patch: patch) == expected)
    }
}
