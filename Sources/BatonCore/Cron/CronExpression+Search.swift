extension CronExpression {
    /// Calendar patterns repeat every 400 Gregorian years, so a search that finds nothing
    /// in that span never will; the bound keeps every search finite whatever the input.
    static let horizonYears = 400

    /// The first local wall-clock time strictly after `local` that matches, or nil past the horizon.
    ///
    /// Pure calendar arithmetic with no zone: `CronSchedule` maps the result to instants,
    /// which is where gaps and folds are decided.
    public func nextLocalMatch(after local: CivilDateTime) -> CivilDateTime? {
        let start = local.millisecondsAsIfUTC.floorDivided(by: 1000) + 1
        guard let found = nextLocalMatch(atOrAfter: start) else { return nil }
        return CivilDateTime(Timestamp(seconds: found))
    }

    /// Local seconds (wall-clock read as if UTC) of the first match at or after `localSecond`.
    ///
    /// Jumps field by field, largest first: a field that has no allowed value left carries
    /// into the next larger one and resets the smaller ones, so a search costs a handful of
    /// bit operations per field rather than a walk over minutes.
    func nextLocalMatch(atOrAfter localSecond: Int64) -> Int64? {
        let dayNumber = localSecond.floorDivided(by: 86_400)
        let secondOfDay = Int(localSecond - dayNumber * 86_400)
        var (year, month, day) = CivilDateTime.civil(fromDays: dayNumber)
        var hour = secondOfDay / 3600
        var minute = secondOfDay / 60 % 60
        var second = secondOfDay % 60
        let lastYear = year + CronExpression.horizonYears
        var maskYear = Int.min
        var maskMonth = 0
        var mask: UInt64 = 0
        while year <= lastYear {
            guard let nextMonth = Self.nextBit(months, from: month) else {
                (year, month, day, hour, minute, second) = (year + 1, 1, 1, 0, 0, 0)
                continue
            }
            if nextMonth != month { (month, day, hour, minute, second) = (nextMonth, 1, 0, 0, 0) }
            if year != maskYear || month != maskMonth {
                (maskYear, maskMonth, mask) = (year, month, dayMask(year: year, month: month))
            }
            guard let nextDay = Self.nextBit(mask, from: day) else {
                (month, day, hour, minute, second) = (month + 1, 1, 0, 0, 0)
                continue
            }
            if nextDay != day { (day, hour, minute, second) = (nextDay, 0, 0, 0) }
            guard let nextHour = Self.nextBit(hours, from: hour) else {
                (day, hour, minute, second) = (day + 1, 0, 0, 0)
                continue
            }
            if nextHour != hour { (hour, minute, second) = (nextHour, 0, 0) }
            guard let nextMinute = Self.nextBit(minutes, from: minute) else {
                (hour, minute, second) = (hour + 1, 0, 0)
                continue
            }
            if nextMinute != minute { (minute, second) = (nextMinute, 0) }
            guard let nextSecond = Self.nextBit(seconds, from: second) else {
                (minute, second) = (minute + 1, 0)
                continue
            }
            return CivilDateTime.days(fromCivil: year, month, day) * 86_400
                + Int64(hour * 3600 + minute * 60 + nextSecond)
        }
        return nil
    }

    /// Bit d set when day d of the month matches both day fields under the Vixie rule.
    ///
    /// `L`, `nL` and `n#k` depend on the month's length and first weekday, which is why
    /// days are resolved per month rather than stored as one fixed set.
    func dayMask(year: Int, month: Int) -> UInt64 {
        let length = CivilDateTime.daysInMonth(year: year, month: month)
        let valid: UInt64 = (1 << UInt64(length + 1)) - 2
        let firstWeekday = CivilDateTime.weekday(days: CivilDateTime.days(fromCivil: year, month, 1))

        var byDate = days.values & valid
        if days.lastDayOfMonth { byDate |= 1 << UInt64(length) }

        // Day of the month on which weekday w first occurs.
        func firstDay(of weekday: Int) -> Int { 1 + (weekday - firstWeekday + 7) % 7 }
        var byWeekday: UInt64 = 0
        var plain = UInt64(weekdays.values)
        while plain != 0 {
            let weekday = plain.trailingZeroBitCount
            plain &= plain - 1
            byWeekday |= 0x1020_4081 << UInt64(firstDay(of: weekday))  // that day and every 7th after
        }
        var nth = weekdays.nthWeekdays
        while nth != 0 {
            let bit = nth.trailingZeroBitCount
            nth &= nth - 1
            byWeekday |= 1 << UInt64(firstDay(of: bit % 8) + 7 * (bit / 8))
        }
        var last = weekdays.lastWeekdays
        let lastDayWeekday = (firstWeekday + length - 1) % 7
        while last != 0 {
            let weekday = last.trailingZeroBitCount
            last &= last - 1
            byWeekday |= 1 << UInt64(length - (lastDayWeekday - weekday + 7) % 7)
        }
        byWeekday &= valid
        return dayFieldsCombineWithOr ? byDate | byWeekday : byDate & byWeekday
    }

    /// The smallest set bit at or above `from`, or nil.
    @inline(__always)
    static func nextBit(_ bits: UInt64, from: Int) -> Int? {
        guard from < 64 else { return nil }
        let rest = bits >> UInt64(from)
        return rest == 0 ? nil : from + rest.trailingZeroBitCount
    }
}
