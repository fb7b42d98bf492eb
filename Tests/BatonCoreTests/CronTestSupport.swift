import BatonCore
import Testing

/// A zone-free wall-clock reading written like RFC 3339 without an offset, e.g. `2026-03-08T02:30:00`.
func cronLocal(_ text: String) throws -> CivilDateTime {
    CivilDateTime(try #require(Timestamp(rfc3339: text + "Z")))
}

/// An instant written in RFC 3339, e.g. `2026-03-08T07:30:00Z`.
func cronInstant(_ text: String) throws -> Timestamp {
    try #require(Timestamp(rfc3339: text))
}
