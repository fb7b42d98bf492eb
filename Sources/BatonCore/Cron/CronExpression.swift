/// A parsed, validated cron expression (CONTRACT §5), independent of any time zone.
///
/// Fields are bitsets so that finding "the next allowed minute" is a shift and a
/// trailing-zero count rather than a loop; this is what lets a scheduler with
/// 100,000 cron jobs recompute next fires cheaply.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The text as written, kept so errors, listings and job specs echo what the user typed.
    public let source: String

    let seconds: UInt64
    let minutes: UInt64
    let hours: UInt64
    private(set) var days: CronFieldSet
    let months: UInt64
    private(set) var weekdays: CronFieldSet

    /// The fold policy `auto` needs this: an expression written with an hourly rhythm
    /// keeps firing through a repeated hour, one pinned to an hour fires once.
    public let hourFieldStartsWithStar: Bool

    /// Vixie cron: when both day fields are restricted, a day matching either fires.
    private(set) var dayFieldsCombineWithOr: Bool

    /// Parses five fields (`minute hour day-of-month month day-of-week`), six (`second` first) or a macro.
    ///
    /// Also rejects expressions that can never fire (such as `0 0 30 2 *`), because a job
    /// that silently never runs is worse than an error at the moment it is written.
    public init(parsing text: String) throws(CronError) {
        let sets = try CronParser.parseFields(text)
        source = text
        seconds = sets[CronField.second.rawValue].values
        minutes = sets[CronField.minute.rawValue].values
        let hourSet = sets[CronField.hour.rawValue]
        hours = hourSet.values
        hourFieldStartsWithStar = hourSet.startsWithStar
        days = sets[CronField.dayOfMonth.rawValue]
        months = sets[CronField.month.rawValue].values
        weekdays = sets[CronField.dayOfWeek.rawValue]
        dayFieldsCombineWithOr = !days.startsWithStar && !weekdays.startsWithStar
        if firstMatchingDay() == nil {
            throw neverFiresError(text: text)
        }
    }

    public var description: String { source }

    /// Whether a local wall-clock reading (whole seconds; milliseconds ignored) matches every field.
    public func matches(_ local: CivilDateTime) -> Bool {
        guard (1...12).contains(local.month), (1...31).contains(local.day), (0...23).contains(local.hour),
            (0...59).contains(local.minute), (0...59).contains(local.second),
            local.day <= CivilDateTime.daysInMonth(year: local.year, month: local.month)
        else { return false }
        return months & (1 << UInt64(local.month)) != 0
            && dayMask(year: local.year, month: local.month) & (1 << UInt64(local.day)) != 0
            && hours & (1 << UInt64(local.hour)) != 0
            && minutes & (1 << UInt64(local.minute)) != 0
            && seconds & (1 << UInt64(local.second)) != 0
    }

    /// A day can only never match through the day and month fields (every other field
    /// always keeps at least one value), so the check searches days alone. The Gregorian
    /// calendar repeats every 400 years, so one full cycle decides it.
    private func firstMatchingDay() -> Int64? {
        nextLocalMatch(atOrAfter: CivilDateTime(year: 2000, month: 1, day: 1).millisecondsAsIfUTC / 1000)
    }

    /// Names the field to blame: day-of-month when it cannot match on its own, else day-of-week.
    private func neverFiresError(text: String) -> CronError {
        var onlyDays = self
        onlyDays.dayFieldsCombineWithOr = false
        onlyDays.weekdays = CronFieldSet(values: 0x7F, startsWithStar: true)
        let field: CronField = days.startsWithStar || onlyDays.firstMatchingDay() != nil ? .dayOfWeek : .dayOfMonth
        return CronError(
            code: .neverFires, field: field.name,
            message: "\(field.name): \"\(text)\" never fires: no date in the chosen months matches its day fields")
    }
}
