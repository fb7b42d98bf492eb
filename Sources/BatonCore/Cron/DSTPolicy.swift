/// What to do with a matching local time that a spring-forward transition skips (CONTRACT §5).
///
/// `shift` is the default because a nightly job silently not running once a
/// year is worse than it running an hour "late" by the wall clock.
public enum DSTGapPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Fire at the missing local time read with the offset in force before the transition
    /// (02:30 on a New York spring-forward night fires at 03:30 EDT).
    case shift
    /// Do not fire for the missing local time.
    case skip
}

/// What to do with a matching local time that a fall-back transition repeats (CONTRACT §5).
public enum DSTFoldPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// `both` when the hour field begins with `*` (an hourly job should keep its
    /// rhythm through the repeated hour), otherwise `first` (a daily job runs once).
    case auto
    case first
    case last
    case both
}
