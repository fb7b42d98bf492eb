import BatonCore
import Testing

/// Fires across DST nights. Expected instants are worked out by hand from the zone rules:
///
/// - America/New_York: EST −05:00, EDT −04:00. 2026-03-08 02:00 EST (07:00Z) jumps to 03:00 EDT;
///   2026-11-01 02:00 EDT (06:00Z) falls back to 01:00 EST, so 01:00–01:59 happens twice.
/// - Europe/Berlin: CET +01:00, CEST +02:00. 2026-03-29 02:00 CET (01:00Z) jumps to 03:00 CEST;
///   2026-10-25 03:00 CEST (01:00Z) falls back to 02:00 CET, so 02:00–02:59 happens twice.
/// - Australia/Lord_Howe: +10:30 standard, +11:00 summer, a 30-minute shift. 2026-04-05 02:00
///   (+11:00, 2026-04-04T15:00Z) falls back to 01:30, so 01:30–01:59 happens twice;
///   2026-10-04 02:00 (+10:30, 2026-10-03T15:30Z) jumps to 02:30.
/// - Asia/Tokyo: +09:00 all year.
@Suite("Cron schedules across DST")
struct CronScheduleDSTTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var expression: String
        var zone: String
        var gap: DSTGapPolicy
        var fold: DSTFoldPolicy
        var after: String
        var expected: [String]
        var testDescription: String { "\(expression) \(zone) gap:\(gap) fold:\(fold) after \(after)" }

        init(
            _ expression: String, _ zone: String, gap: DSTGapPolicy = .shift, fold: DSTFoldPolicy = .auto,
            after: String, _ expected: [String]
        ) {
            self.expression = expression
            self.zone = zone
            self.gap = gap
            self.fold = fold
            self.after = after
            self.expected = expected
        }
    }

    static let newYork: [Case] = [
        // The contract's example: 02:30 does not exist on March 8, read with EST it is 07:30Z (03:30 EDT).
        Case("30 2 * * *", "America/New_York", after: "2026-03-07T12:00:00Z",
             ["2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"]),
        Case("30 2 * * *", "America/New_York", gap: .skip, after: "2026-03-07T12:00:00Z",
             ["2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z", "2026-03-11T06:30:00Z"]),
        // Shifted 02:00 and 02:30 land on 03:00 and 03:30 EDT, which also match: one fire each.
        Case("*/30 * * * *", "America/New_York", after: "2026-03-08T05:00:00Z",
             ["2026-03-08T05:30:00Z", "2026-03-08T06:00:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z",
              "2026-03-08T07:30:00Z", "2026-03-08T08:00:00Z"]),
        Case("*/30 * * * *", "America/New_York", gap: .skip, after: "2026-03-08T05:00:00Z",
             ["2026-03-08T05:30:00Z", "2026-03-08T06:00:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z",
              "2026-03-08T07:30:00Z", "2026-03-08T08:00:00Z"]),
        // Local order 02:10, 02:20, 03:10, 03:20 is not instant order; fires still come out sorted, once each.
        Case("10,20 2,3 * * *", "America/New_York", after: "2026-03-08T06:00:00Z",
             ["2026-03-08T07:10:00Z", "2026-03-08T07:20:00Z", "2026-03-09T06:10:00Z", "2026-03-09T06:20:00Z"]),
        Case("10,20 2,3 * * *", "America/New_York", after: "2026-03-08T07:10:00Z",
             ["2026-03-08T07:20:00Z", "2026-03-09T06:10:00Z"]),
        // Fall back: 01:30 EDT is 05:30Z, 01:30 EST is 06:30Z. A fixed hour means auto = first.
        Case("30 1 * * *", "America/New_York", after: "2026-10-31T12:00:00Z",
             ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]),
        Case("30 1 * * *", "America/New_York", fold: .first, after: "2026-10-31T12:00:00Z",
             ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]),
        Case("30 1 * * *", "America/New_York", fold: .last, after: "2026-10-31T12:00:00Z",
             ["2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"]),
        Case("30 1 * * *", "America/New_York", fold: .both, after: "2026-10-31T12:00:00Z",
             ["2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"]),
        // Starting exactly at the first occurrence still finds the second one.
        Case("30 1 * * *", "America/New_York", fold: .both, after: "2026-11-01T05:30:00Z",
             ["2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"]),
        Case("30 1 * * *", "America/New_York", fold: .last, after: "2026-11-01T05:30:00Z",
             ["2026-11-01T06:30:00Z"]),
        Case("30 1 * * *", "America/New_York", fold: .first, after: "2026-11-01T05:30:00Z",
             ["2026-11-02T06:30:00Z"]),
        // Starting inside the repeated hour's second pass (01:10 EST).
        Case("30 1 * * *", "America/New_York", fold: .both, after: "2026-11-01T06:10:00Z",
             ["2026-11-01T06:30:00Z"]),
        // Hour field `*`: auto = both, so the repeated hour runs twice.
        Case("*/30 * * * *", "America/New_York", after: "2026-11-01T04:00:00Z",
             ["2026-11-01T04:30:00Z", "2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z",
              "2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z"]),
        Case("*/30 * * * *", "America/New_York", fold: .first, after: "2026-11-01T04:00:00Z",
             ["2026-11-01T04:30:00Z", "2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z",
              "2026-11-01T07:30:00Z"]),
        Case("*/30 * * * *", "America/New_York", fold: .last, after: "2026-11-01T04:00:00Z",
             ["2026-11-01T04:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z"]),
        // auto looks at the text: `*/1` starts with a star (both), `0-23` does not (first).
        Case("0 */1 * * *", "America/New_York", after: "2026-11-01T04:30:00Z",
             ["2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"]),
        Case("0 0-23 * * *", "America/New_York", after: "2026-11-01T04:30:00Z",
             ["2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"]),
    ]

    static let berlin: [Case] = [
        // 02:30 does not exist on March 29; read with CET (+01:00) it is 01:30Z, i.e. 03:30 CEST.
        Case("30 2 * * *", "Europe/Berlin", after: "2026-03-28T12:00:00Z",
             ["2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"]),
        Case("30 2 * * *", "Europe/Berlin", gap: .skip, after: "2026-03-28T12:00:00Z",
             ["2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"]),
        // 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET) on October 25.
        Case("30 2 * * *", "Europe/Berlin", after: "2026-10-24T12:00:00Z",
             ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]),
        Case("30 2 * * *", "Europe/Berlin", fold: .last, after: "2026-10-24T12:00:00Z",
             ["2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"]),
        Case("30 2 * * *", "Europe/Berlin", fold: .both, after: "2026-10-24T12:00:00Z",
             ["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"]),
        // Hourly: 02:00 CEST (00:00Z), 02:00 CET (01:00Z), 03:00 CET (02:00Z).
        Case("0 * * * *", "Europe/Berlin", after: "2026-10-24T23:30:00Z",
             ["2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"]),
        Case("0 * * * *", "Europe/Berlin", fold: .first, after: "2026-10-24T23:30:00Z",
             ["2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z"]),
        Case("0 * * * *", "Europe/Berlin", fold: .last, after: "2026-10-24T23:30:00Z",
             ["2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"]),
        // Sub-minute schedules through the gap: 01:59:30 CET, then 02:00:00 read with CET = 03:00 CEST.
        Case("*/30 * * * * *", "Europe/Berlin", after: "2026-03-29T00:59:00Z",
             ["2026-03-29T00:59:30Z", "2026-03-29T01:00:00Z", "2026-03-29T01:00:30Z"]),
    ]

    static let lordHowe: [Case] = [
        // 02:15 on October 4 does not exist; read with +10:30 it is 15:45Z on the 3rd.
        Case("15 2 * * *", "Australia/Lord_Howe", after: "2026-10-03T12:00:00Z",
             ["2026-10-03T15:45:00Z", "2026-10-04T15:15:00Z"]),
        Case("15 2 * * *", "Australia/Lord_Howe", gap: .skip, after: "2026-10-03T12:00:00Z",
             ["2026-10-04T15:15:00Z", "2026-10-05T15:15:00Z"]),
        // 01:45, 02:00 (gap → 02:30), 02:15 (gap → 02:45), 03:00 +11:00.
        Case("*/15 * * * *", "Australia/Lord_Howe", after: "2026-10-03T15:00:00Z",
             ["2026-10-03T15:15:00Z", "2026-10-03T15:30:00Z", "2026-10-03T15:45:00Z", "2026-10-03T16:00:00Z"]),
        // 01:45 on April 5 happens at 14:45Z (+11:00) and 15:15Z (+10:30).
        Case("45 1 * * *", "Australia/Lord_Howe", after: "2026-04-04T12:00:00Z",
             ["2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"]),
        Case("45 1 * * *", "Australia/Lord_Howe", fold: .last, after: "2026-04-04T12:00:00Z",
             ["2026-04-04T15:15:00Z", "2026-04-05T15:15:00Z"]),
        Case("45 1 * * *", "Australia/Lord_Howe", fold: .both, after: "2026-04-04T12:00:00Z",
             ["2026-04-04T14:45:00Z", "2026-04-04T15:15:00Z", "2026-04-05T15:15:00Z"]),
        // 01:15 is before the repeated half hour: once, at +11:00; the next day at +10:30.
        Case("15 1 * * *", "Australia/Lord_Howe", fold: .both, after: "2026-04-04T12:00:00Z",
             ["2026-04-04T14:15:00Z", "2026-04-05T14:45:00Z"]),
        Case("*/15 * * * *", "Australia/Lord_Howe", after: "2026-04-04T14:20:00Z",
             ["2026-04-04T14:30:00Z", "2026-04-04T14:45:00Z", "2026-04-04T15:00:00Z", "2026-04-04T15:15:00Z",
              "2026-04-04T15:30:00Z"]),
        Case("*/15 * * * *", "Australia/Lord_Howe", fold: .first, after: "2026-04-04T14:20:00Z",
             ["2026-04-04T14:30:00Z", "2026-04-04T14:45:00Z", "2026-04-04T15:30:00Z"]),
    ]

    static let fixedOffsets: [Case] = [
        Case("30 2 * * *", "Asia/Tokyo", after: "2026-03-07T12:00:00Z",
             ["2026-03-07T17:30:00Z", "2026-03-08T17:30:00Z", "2026-03-09T17:30:00Z"]),
        Case("0 * * * *", "Asia/Tokyo", after: "2026-10-31T15:30:00Z",
             ["2026-10-31T16:00:00Z", "2026-10-31T17:00:00Z", "2026-10-31T18:00:00Z"]),
        Case("30 2 * * *", "UTC", after: "2026-03-07T12:00:00Z", ["2026-03-08T02:30:00Z", "2026-03-09T02:30:00Z"]),
        Case("0 0 L 2 *", "UTC", after: "2027-03-01T00:00:00Z", ["2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z"]),
        // The default zone is UTC.
        Case("15 10 * * 5#3", "UTC", after: "2026-01-01T00:00:00Z", ["2026-01-16T10:15:00Z", "2026-02-20T10:15:00Z"]),
    ]

    @Test("America/New_York", arguments: newYork)
    func newYorkNights(_ example: Case) throws { try expectFires(example) }

    @Test("Europe/Berlin", arguments: berlin)
    func berlinNights(_ example: Case) throws { try expectFires(example) }

    @Test("Australia/Lord_Howe (30-minute shift)", arguments: lordHowe)
    func lordHoweNights(_ example: Case) throws { try expectFires(example) }

    @Test("zones without DST", arguments: fixedOffsets)
    func fixedOffsetZones(_ example: Case) throws { try expectFires(example) }

    private func expectFires(_ example: Case) throws {
        let schedule = try CronSchedule(
            expression: try CronExpression(parsing: example.expression), timeZone: example.zone, gap: example.gap,
            fold: example.fold)
        let fires = schedule.fires(after: try cronInstant(example.after), count: example.expected.count)
        #expect(fires.map(\.rfc3339) == example.expected)
    }

    @Test("fires are strictly increasing through the DST nights of 2026", arguments: DSTFoldPolicy.allCases)
    func strictlyIncreasing(_ fold: DSTFoldPolicy) throws {
        let nights = [
            ("America/New_York", "2026-03-07T12:00:00Z"), ("America/New_York", "2026-10-31T12:00:00Z"),
            ("Europe/Berlin", "2026-03-28T12:00:00Z"), ("Europe/Berlin", "2026-10-24T12:00:00Z"),
            ("Australia/Lord_Howe", "2026-04-04T00:00:00Z"), ("Australia/Lord_Howe", "2026-10-03T00:00:00Z"),
        ]
        for (zone, after) in nights {
            for gap in DSTGapPolicy.allCases {
                let schedule = try CronSchedule(
                    expression: try CronExpression(parsing: "*/5 * * * *"), timeZone: zone, gap: gap, fold: fold)
                let fires = schedule.fires(after: try cronInstant(after), count: 12 * 48)
                #expect(fires.count == 12 * 48)
                #expect(zip(fires, fires.dropFirst()).allSatisfy { $0 < $1 }, "\(zone) \(gap) \(fold)")
                #expect(fires.allSatisfy { $0.milliseconds % 300_000 == 0 }, "\(zone) \(gap) \(fold)")
            }
        }
    }

    @Test("a year of */10 has 52,560 local slots, adjusted by the policies")
    func yearlyCounts() throws {
        // 365 days × 144. The spring night skips one hour (6 slots, all shifted onto existing ones),
        // the autumn night repeats one (6 more slots when the second pass fires).
        let cases: [(DSTFoldPolicy, Int)] = [(.first, 52_560 - 6), (.last, 52_560 - 6), (.both, 52_560), (.auto, 52_560)]
        for (fold, expected) in cases {
            let schedule = try CronSchedule(
                expression: try CronExpression(parsing: "*/10 * * * *"), timeZone: "America/New_York", fold: fold)
            let start = try cronInstant("2026-01-01T05:00:00Z")  // local midnight, EST
            let end = try cronInstant("2027-01-01T05:00:00Z")
            var count = 0
            var cursor = start
            while let next = schedule.nextFire(after: cursor), next <= end {
                count += 1
                cursor = next
            }
            #expect(count == expected, "\(fold)")
        }
    }

    @Test("default arguments are UTC, shift and auto")
    func defaults() throws {
        let schedule = try CronSchedule(expression: try CronExpression(parsing: "0 12 * * *"))
        #expect(schedule.timeZoneIdentifier == "UTC")
        #expect(schedule.gap == .shift)
        #expect(schedule.fold == .auto)
        #expect(schedule.nextFire(after: try cronInstant("2026-05-01T12:00:00.001Z"))?.rfc3339 == "2026-05-02T12:00:00Z")
        #expect(schedule.nextFire(after: try cronInstant("2026-05-01T11:59:59.999Z"))?.rfc3339 == "2026-05-01T12:00:00Z")
        #expect(schedule.fires(after: try cronInstant("2026-05-01T00:00:00Z"), count: 0).isEmpty)
    }

    @Test("extreme instants return nil or a fire, never trap")
    func extremes() throws {
        let schedule = try CronSchedule(
            expression: try CronExpression(parsing: "0 0 * * *"), timeZone: "America/New_York")
        #expect(schedule.nextFire(after: Timestamp(milliseconds: .max)) == nil)
        _ = schedule.nextFire(after: Timestamp(milliseconds: .min))
        #expect(schedule.nextFire(after: try cronInstant("1900-06-01T00:00:00Z"))?.rfc3339 == "1900-06-01T05:00:00Z")
    }

    @Test("policies read and write their contract names", arguments: ["shift", "skip"])
    func gapNames(_ name: String) throws {
        #expect(DSTGapPolicy(rawValue: name)?.rawValue == name)
    }

    @Test("fold policies read and write their contract names")
    func foldNames() {
        #expect(DSTFoldPolicy.allCases.map(\.rawValue) == ["auto", "first", "last", "both"])
        #expect(DSTGapPolicy.allCases.map(\.rawValue) == ["shift", "skip"])
    }
}

@Suite("Cron schedules shared across tasks")
struct CronScheduleConcurrencyTests {
    /// Schedules in one zone share its offset table; concurrent first use must give the same
    /// answers as one task alone.
    @Test("concurrent next-fire computations agree with sequential ones")
    func concurrentAgreement() async throws {
        let zones = ["Pacific/Chatham", "America/St_Johns", "Asia/Kolkata", "America/Sao_Paulo"]
        let schedules = try zones.map {
            try CronSchedule(expression: try CronExpression(parsing: "17 */3 * * *"), timeZone: $0, fold: .both)
        }
        let start = try cronInstant("2031-01-01T00:00:00Z")
        let results = await withTaskGroup(of: (Int, [Timestamp]).self) { group in
            for round in 0..<4 {
                for (index, schedule) in schedules.enumerated() {
                    group.addTask { (index, schedule.fires(after: start + .days(Int64(round)), count: 2_000)) }
                }
            }
            var collected: [(Int, [Timestamp])] = []
            for await result in group { collected.append(result) }
            return collected
        }
        #expect(results.count == 16)
        for (index, fires) in results {
            let sequential = schedules[index].fires(after: fires[0] - .seconds(1), count: fires.count)
            #expect(fires == sequential, "\(zones[index])")
        }
    }
}
