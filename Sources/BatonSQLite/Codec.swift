import BatonCore
import BatonStore
import Foundation
import GRDB

/// Conversions between domain values and SQLite columns, in one place.
package enum Codec {
    static func specJSON(_ spec: JobSpec) throws(StoreError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(spec), as: UTF8.self)
        } catch {
            throw StoreError(.corrupt, "cannot encode job spec: \(error)")
        }
    }

    /// A stored spec, read leniently (``JobSpec/Reading/stored``): a newer gateway may have written fields this build
    /// does not know. What still fails is a spec this build cannot represent at all.
    static func spec(_ json: String) throws(StoreError) -> JobSpec {
        do {
            return try JobSpec.parse(json: Data(json.utf8), reading: .stored)
        } catch {
            throw StoreError(.corrupt, "the stored spec cannot be read by this build of Baton: \(error)")
        }
    }

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
