import BatonCore
import BatonStore
import Foundation
import GRDB

/// Conversions between domain values and SQLite columns, in one place.
package enum Codec {
    package static func blob(_ id: TicketID) -> Data { Data(id.bytes) }

    static func ticketID(_ value: DatabaseValue) -> TicketID? {
        guard let data = Data.fromDatabaseValue(value) else { return nil }
        return data.withUnsafeBytes { TicketID($0) }
    }

    package static func timestamp(_ value: Int64?) -> Timestamp? { value.map(Timestamp.init(milliseconds:)) }
}

extension Row {
    func timestamp(_ column: String) -> Timestamp? {
        Codec.timestamp(self[column] as Int64?)
    }

    func requiredTimestamp(_ column: String) -> Timestamp {
        Timestamp(milliseconds: self[column] as Int64? ?? 0)
    }

    func ticketID(_ column: String) -> TicketID? {
        Codec.ticketID(self[column] as DatabaseValue)
    }
}
