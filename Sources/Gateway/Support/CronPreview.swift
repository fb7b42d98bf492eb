import BatonCore
import Foundation

/// `GET /v1/cron` and the console's cron page: an expression checked and its next fires listed, without a job.
struct CronPreview: Encodable {
    var expression: String
    var timezone: String
    var fires: [FireResource]

    /// Reads `expr`, `tz` (default UTC), `count` (default 10), `from` (default `now`) and optionally
    /// `dstGap`/`dstFold`; 422 naming every bad parameter.
    static func read(_ query: inout QueryReader, now: Timestamp) throws(APIError) -> CronPreview {
        let count = query.integer("count", default: 10, in: 1...1000)
        let from = query.timestamp("from")
        let zoneName = query["tz"] ?? "UTC"
        var gap = DSTGapPolicy.shift
        var fold = DSTFoldPolicy.auto
        if let text = query["dstGap"] {
            if let value = DSTGapPolicy(rawValue: text) { gap = value } else { query.fail("dstGap", "must be shift or skip") }
        }
        if let text = query["dstFold"] {
            if let value = DSTFoldPolicy(rawValue: text) {
                fold = value
            } else {
                query.fail("dstFold", "must be auto, first, last or both")
            }
        }
        var schedule: CronSchedule?
        let zoneKnown = TimeZone(identifier: zoneName) != nil
        if !zoneKnown {
            query.fail("tz", "unknown time zone \"\(zoneName)\" (use an IANA name such as Europe/Berlin)")
        }
        if let expression = query["expr"], !expression.isEmpty {
            do {
                let parsed = try CronExpression(parsing: expression)
                if zoneKnown {
                    do {
                        schedule = try CronSchedule(expression: parsed, timeZone: zoneName, gap: gap, fold: fold)
                    } catch {
                        query.fail("tz", error.message)
                    }
                }
            } catch {
                query.fail("expr", error.message)
            }
        } else {
            query.fail("expr", "is required, e.g. expr=30%202%20*%20*%20*")
        }
        try query.check()
        guard let schedule else { throw APIError.invalid("expr", "is not valid") }
        let zone = JobOperations.zone(named: zoneName)
        var fires: [Timestamp] = []
        var cursor = from ?? now
        while fires.count < count, let next = schedule.nextFire(after: cursor) {
            fires.append(next)
            cursor = next
        }
        return CronPreview(expression: query["expr"] ?? "", timezone: zoneName, fires: fires.map { FireResource($0, zone: zone) })
    }
}
