import BatonCore
import Foundation
import Testing

/// Issue 12 item 2: no duration or instant, however large, may trap or leave years 0001–9999.
@Suite("Time bounds and overflow-checked arithmetic")
struct TimeArithmeticTests {
    static let edges: [Int64] = [.min, .min + 1, -1, 0, 1, .max - 1, .max]

    @Test func timestampOperatorsClampToTheCalendarInsteadOfTrapping() {
        #expect(Timestamp(milliseconds: .max) + .milliseconds(1) == .latest)
        #expect(Timestamp(milliseconds: .min) - .milliseconds(1) == .earliest)
        #expect(Timestamp.latest + TimeSpan(milliseconds: .max) == .latest)
        #expect(Timestamp.earliest - TimeSpan(milliseconds: .max) == .earliest)
        #expect(Timestamp.earliest + TimeSpan(milliseconds: .min) == .earliest)
        #expect(Timestamp(milliseconds: .max) - Timestamp(milliseconds: .min) == TimeSpan(milliseconds: .max))
        #expect(Timestamp(milliseconds: .min) - Timestamp(milliseconds: .max) == TimeSpan(milliseconds: .min))
        // The issue's retry: now + 106751991167d used to wrap to the year −292,274,998.
        let now = Timestamp(rfc3339: "2026-12-03T09:00:00Z")!
        #expect(now + TimeSpan.days(106_751_991_167) == .latest)
        #expect(Timestamp(seconds: .max) == Timestamp(milliseconds: .max))
        for a in Self.edges {
            for b in Self.edges {
                let sum = Timestamp(milliseconds: a) + TimeSpan(milliseconds: b)
                #expect(sum.isInCalendarRange, "\(a) + \(b)")
                #expect((Timestamp(milliseconds: a) - TimeSpan(milliseconds: b)).isInCalendarRange, "\(a) - \(b)")
                _ = Timestamp(milliseconds: a) - Timestamp(milliseconds: b)
            }
        }
    }

    @Test func checkedAdditionReportsLeavingTheCalendar() {
        #expect(Timestamp.latest.adding(.zero) == .latest)
        #expect(Timestamp.latest.adding(.milliseconds(1)) == nil)
        #expect(Timestamp.earliest.adding(.milliseconds(-1)) == nil)
        #expect(Timestamp(milliseconds: .max).adding(.milliseconds(1)) == nil)
        #expect(Timestamp(milliseconds: 0).adding(.days(1)) == Timestamp(milliseconds: 86_400_000))
    }

    @Test func timeSpanArithmeticSaturates() {
        #expect(TimeSpan(milliseconds: .max) + .milliseconds(1) == TimeSpan(milliseconds: .max))
        #expect(TimeSpan(milliseconds: .min) + .milliseconds(-1) == TimeSpan(milliseconds: .min))
        // BATON_REDELIVER_AFTER × 30 in the dispatcher.
        #expect(TimeSpan.days(106_751_991_167) * 30 == TimeSpan(milliseconds: .max))
        #expect(TimeSpan(milliseconds: .max) * -2 == TimeSpan(milliseconds: .min))
        #expect(TimeSpan.days(.max) == TimeSpan(milliseconds: .max))
        #expect(TimeSpan.seconds(.min) == TimeSpan(milliseconds: .min))
        #expect(TimeSpan(milliseconds: .min).description == "-106751991167d7h12m55s808ms")
    }

    @Test func formattingIsAlwaysRFC3339WithAFourDigitYear() {
        #expect(Timestamp.latest.rfc3339Milliseconds == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp.earliest.rfc3339Milliseconds == "0001-01-01T00:00:00.000Z")
        // Values only an older build can have stored are written as the nearest end, never `+029405-…`.
        #expect(Timestamp(milliseconds: .max).rfc3339 == "9999-12-31T23:59:59Z")
        #expect(Timestamp(milliseconds: .min).rfc3339 == "0001-01-01T00:00:00Z")
        let farFuture = Timestamp(milliseconds: 1_790_000_000_000 + 10_000_000 * 86_400_000)
        #expect(farFuture.rfc3339 == "9999-12-31T23:59:59Z")
        for edge in Self.edges {
            let text = Timestamp(milliseconds: edge).description
            #expect(Timestamp(rfc3339: text) != nil, "\(edge) → \(text)")
        }
    }

    @Test("parsing accepts only instants in years 0001–9999", arguments: [
        ("0001-01-01T00:00:00Z", Timestamp.earliest.milliseconds as Int64?),
        ("9999-12-31T23:59:59.999Z", Timestamp.latest.milliseconds),
        ("9999-12-31T23:59:59.999+00:01", Timestamp.latest.milliseconds - 60_000),
        ("0000-12-31T23:59:59Z", nil),
        ("0001-01-01T00:00:00+00:01", nil),
        ("9999-12-31T23:59:59-00:01", nil),
        ("+029405-12-29T07:48:52Z", nil),
        ("-292274998-01-01T00:00:00Z", nil),
    ])
    func parsingRange(text: String, expected: Int64?) {
        #expect(Timestamp(rfc3339: text)?.milliseconds == expected)
    }

    @Test func civilDateTimeOfAnyInt64DoesNotTrap() {
        for edge in Self.edges {
            _ = CivilDateTime(Timestamp(milliseconds: edge), offsetSeconds: 14 * 3600)
            _ = CivilDateTime(Timestamp(milliseconds: edge), offsetSeconds: -12 * 3600)
        }
    }
}

@Suite("Schedules at the ends of time")
struct ScheduleBoundsTests {
    let created = Timestamp(rfc3339: "2026-12-03T09:00:00Z")!

    @Test func intervalSlotsNeverPassYear9999() throws {
        let anchor = Timestamp(rfc3339: "9999-06-01T00:00:00Z")!
        let schedule = try Schedule(ScheduleSpec(.every(.days(366)), anchor: anchor), createdAt: created)
        #expect(schedule.nextSlot(after: created)?.isInCalendarRange == true)
        #expect(schedule.nextSlot(after: anchor) == nil)
        let slots = schedule.slots(after: created, count: 10_000)
        #expect(slots.allSatisfy { $0.isInCalendarRange })
    }

    /// Stored by a build without bounds: the arithmetic used to trap (SIGILL) in `anchor + k·every`.
    @Test("stored intervals of any size neither trap nor leave the calendar", arguments: [
        Int64.max, Int64.max - 1, 9_223_372_036_828_800_000, 10_000_000 * 86_400_000, 1, 0, -1, Int64.min,
    ] as [Int64])
    func storedInterval(milliseconds: Int64) {
        let anchors = [created, Timestamp(milliseconds: .max), Timestamp(milliseconds: .min), .latest, .earliest]
        let afters = anchors + [Timestamp(milliseconds: 0)]
        for anchor in anchors {
            let schedule = Schedule(rule: .every(interval: TimeSpan(milliseconds: milliseconds), anchor: anchor))
            for after in afters {
                if let slot = schedule.nextSlot(after: after) {
                    #expect(slot.isInCalendarRange, "every \(milliseconds) ms from \(anchor.milliseconds) after \(after.milliseconds)")
                    #expect(slot > after)
                }
            }
        }
    }

    @Test func cronFiresStopAtYear9999() throws {
        let cron = try CronSchedule(expression: CronExpression(parsing: "* * * * *"))
        #expect(cron.nextFire(after: Timestamp(rfc3339: "9999-12-31T23:58:00Z")!) == Timestamp(rfc3339: "9999-12-31T23:59:00Z"))
        #expect(cron.nextFire(after: Timestamp(rfc3339: "9999-12-31T23:59:00Z")!) == nil)
        #expect(cron.nextFire(after: Timestamp(milliseconds: .max)) == nil)
        #expect(cron.nextFire(after: Timestamp(milliseconds: .min)) == .earliest)
        let yearly = try Schedule(ScheduleSpec(.cron("@yearly"), timezone: "Pacific/Kiritimati"), createdAt: created)
        let fires = yearly.slots(after: Timestamp(rfc3339: "9990-01-01T00:00:00Z")!, count: 100)
        #expect(fires.count == 10)
        #expect(fires.allSatisfy { $0.isInCalendarRange })
    }

    @Test func startAtAtTheFirstInstantIsItselfASlot() throws {
        let spec = ScheduleSpec(.every(.seconds(1)), anchor: .earliest, startAt: .earliest)
        let schedule = try Schedule(spec, createdAt: created)
        #expect(schedule.nextSlot(after: Timestamp(milliseconds: .min)) == .earliest)
    }
}

@Suite("Backoff at the Int64 edge")
struct BackoffBoundsTests {
    let now = Timestamp(rfc3339: "2026-12-03T09:00:00Z")!

    /// The Double→Int64 conversion trapped (in whichever executor completed the attempt) once the capped delay
    /// rounded up to 2^63.
    @Test func delayNearInt64MaxIsTheCapExactly() {
        let retry = RetryPolicy(
            maxAttempts: 5, initialDelay: TimeSpan(milliseconds: .max - 1), maxDelay: TimeSpan(milliseconds: .max), multiplier: 2)
        for attempt in 2...5 {
            #expect(retry.delay(beforeAttempt: attempt) <= TimeSpan(milliseconds: .max))
        }
        let grown = RetryPolicy(maxAttempts: 5, initialDelay: .days(1), maxDelay: TimeSpan(milliseconds: .max), multiplier: 100)
        #expect(grown.delay(beforeAttempt: 100) == TimeSpan(milliseconds: .max))
        let resolution = AttemptResolution.after(outcome: .failed, attempt: 2, retry: retry, now: now)
        #expect(resolution.state == .retrying)
        #expect(resolution.notBefore?.isInCalendarRange == true)
        #expect(resolution.notBefore == .latest)
    }

    @Test func delayIsTotalForPoliciesNoValidatorWouldAccept() {
        let spans: [TimeSpan] = [.zero, .milliseconds(1), .days(30), TimeSpan(milliseconds: .max), TimeSpan(milliseconds: .min)]
        let multipliers: [Double] = [1, 2, 100, 1.000_000_1, 0, -2, .nan, .infinity, -.infinity, 1e308]
        for initial in spans {
            for cap in spans {
                for multiplier in multipliers {
                    let retry = RetryPolicy(maxAttempts: 3, initialDelay: initial, maxDelay: cap, multiplier: multiplier)
                    for attempt in [Int.min, 1, 2, 3, 101, 10_000] {
                        let delay = retry.delay(beforeAttempt: attempt)
                        #expect(delay >= .zero)
                        #expect(delay <= Swift.max(cap, .zero))
                    }
                }
            }
        }
    }

    @Test func backoffWithinTheBoundsIsUnchanged() {
        let retry = RetryPolicy(maxAttempts: 100, initialDelay: .seconds(10), maxDelay: .days(30), multiplier: 3)
        #expect(retry.delay(beforeAttempt: 2) == .seconds(10))
        #expect(retry.delay(beforeAttempt: 3) == .seconds(30))
        #expect(retry.delay(beforeAttempt: 6) == .seconds(810))
        #expect(retry.delay(beforeAttempt: 100) == .days(30))
    }
}

@Suite("Duration bounds in job specs")
struct SpecBoundsTests {
    /// Every duration field of a spec: where it goes in the document and its bound.
    static let fields: [(path: String, bounds: ClosedRange<TimeSpan>)] = [
        ("schedule.every", TimeBounds.every),
        ("policy.misfireGrace", TimeBounds.misfireGrace),
        ("policy.jitter", TimeBounds.jitter),
        ("policy.timeout", TimeBounds.timeout),
        ("policy.retry.initialDelay", TimeBounds.retryDelay),
        ("policy.retry.maxDelay", TimeBounds.retryDelay),
        ("action.http.timeout", TimeBounds.timeout),
        ("action.command.timeout", TimeBounds.timeout),
    ]

    /// 0, 1 ms, the bound, the bound + 1 ms, and the Int64 edges (written as text, the only way a client can).
    static func boundary(_ bounds: ClosedRange<TimeSpan>) -> [String] {
        [
            "0s", "1ms", bounds.upperBound.description, (bounds.upperBound + .milliseconds(1)).description,
            "106751991167d", "9223372036854775807ms", "9223372036854775808ms", "10000000d",
        ]
    }

    static func document(_ path: String, _ value: String) -> [String: Any] {
        var schedule: [String: Any] = ["every": "366d"]
        var policy: [String: Any] = ["misfireGrace": "366d"]
        var retry: [String: Any] = [:]
        var action: [String: Any] = ["noop": [String: Any]()]
        switch path {
        case "schedule.every": schedule["every"] = value
        case "policy.misfireGrace": policy["misfireGrace"] = value
        case "policy.jitter": policy["jitter"] = value
        case "policy.timeout": policy["timeout"] = value
        case "policy.retry.initialDelay": retry = ["initialDelay": value, "maxDelay": "30d"]
        case "policy.retry.maxDelay": retry = ["initialDelay": "0s", "maxDelay": value]
        case "action.http.timeout": action = ["http": ["url": "http://example.test/", "timeout": value]]
        default: action = ["command": ["argv": ["/bin/true"], "timeout": value]]
        }
        if !retry.isEmpty { policy["retry"] = retry }
        return ["name": "bounds", "schedule": schedule, "policy": policy, "action": action]
    }

    @Test func everyDurationFieldIsBoundedAndTheIssueNamesItAndTheBound() throws {
        for (path, bounds) in Self.fields {
            for value in Self.boundary(bounds) {
                let data = try JSONSerialization.data(withJSONObject: Self.document(path, value))
                var issues: [FieldIssue] = []
                do {
                    _ = try JobSpec.parse(json: data)
                } catch {
                    issues = error.issues
                }
                let inBounds = (try? TimeSpan(parsing: value)).map(bounds.contains) ?? false
                let boundIssue = issues.first { $0.field == path && $0.message.contains(bounds.boundDescription) }
                #expect((boundIssue == nil) == inBounds, "\(path) = \(value): \(issues)")
            }
        }
    }

    @Test func theIssuesExamplesAreRejected() {
        let cases = [
            (#"{"every": "106751991167d"}"#, "schedule.every"),
            (#"{"every": "10000000d"}"#, "schedule.every"),
        ]
        for (schedule, field) in cases {
            let json = #"{"name": "x", "schedule": \#(schedule), "action": {"noop": {}}}"#
            do {
                _ = try JobSpec.parse(json: Data(json.utf8))
                Issue.record("\(schedule) was accepted")
            } catch {
                #expect(error.issues.map(\.field) == [field])
                #expect(error.issues.first?.message.contains("from 1s to 366d") == true, "\(error.issues)")
            }
        }
    }
}

@Suite("Specs read back from the store")
struct StoredSpecBoundsTests {
    @Test func storedSpecsAreReadWithoutTheDurationBounds() throws {
        let json = Data(
            #"{"name": "old", "schedule": {"every": "10000000d"}, "action": {"noop": {}}, "policy": {"timeout": "3650d", "retry": {"initialDelay": "106751991167d", "maxDelay": "106751991167d"}}}"#
                .utf8)
        let stored = try JobSpec.parseStored(json: json)
        #expect(stored.schedule.kind == .every(.days(10_000_000)))
        #expect(stored.policy.retry.maxDelay == .days(106_751_991_167))
        do {
            _ = try JobSpec.parse(json: json)
            Issue.record("a client may not send these values")
        } catch {
            #expect(Set(error.issues.map(\.field)) == ["schedule.every", "policy.timeout", "policy.retry.initialDelay", "policy.retry.maxDelay"])
        }
        // And everything computed from them stays total and in the calendar.
        let now = Timestamp(rfc3339: "2026-12-03T09:00:00Z")!
        let schedule = try Schedule(stored.schedule, createdAt: now)
        #expect(schedule.nextSlot(after: now) == nil)
        let retried = AttemptResolution.after(outcome: .timedOut, attempt: 1, retry: stored.policy.retry, now: now)
        #expect(retried.notBefore == .latest)
    }
}
