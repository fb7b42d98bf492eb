/// Hand-written JSON for the two messages that flow per ticket, `TICKETS` and `CREDIT`.
///
/// Why: Foundation's `JSONEncoder`/`JSONDecoder` were a fifth of the leader's CPU at 10,000 tickets/s (a
/// `TICKETS` per executor pass, a `CREDIT` per claim and per completion). The writer produces exactly what
/// `JSONEncoder` with `.sortedKeys, .withoutEscapingSlashes` produces (a test compares them); the reader accepts
/// the plain shape senders write (any key order, any whitespace, strings without escapes) and returns nil for
/// anything else, which then goes through `JSONDecoder` as before, with its precise errors.
enum WireFastPath {
    // MARK: Writing

    static func encode(_ notices: [WireMessage.TicketNotice]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(notices.count * 160 + 2)
        out.append(UInt8(ascii: "["))
        for (index, notice) in notices.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            if let epoch = notice.epoch {
                append(#""epoch":"#, to: &out)
                append(String(epoch), to: &out)
                out.append(UInt8(ascii: ","))
            }
            append(#""id":""#, to: &out)
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: 64))
            out.withUnsafeMutableBytes { notice.id.writeHex(into: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
            append(#"","job":"#, to: &out)
            appendString(notice.job.rawValue, to: &out)
            append(#","slot":"#, to: &out)
            appendString(notice.slot.description, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    static func encode(_ credit: WireMessage.Credit) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32 + credit.executor.utf8.count)
        append(#"{"executor":"#, to: &out)
        appendString(credit.executor, to: &out)
        append(#","n":"#, to: &out)
        append(String(credit.n), to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static func append(_ text: String, to out: inout [UInt8]) {
        out.append(contentsOf: text.utf8)
    }

    /// A JSON string as `JSONEncoder` writes it: `"` and `\` escaped, control characters as `\n`-style or `\u00XX`.
    private static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array(#"\u00"#.utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xf)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: Reading

    /// `[{"id": …, "job": …, "slot": …, "epoch": …}, …]`, or nil to fall back to `JSONDecoder`.
    static func decodeTickets(_ payload: [UInt8]) -> [WireMessage.TicketNotice]? {
        payload.withUnsafeBufferPointer { buffer in
            var reader = Reader(buffer)
            guard reader.consume(UInt8(ascii: "[")) else { return nil }
            var notices: [WireMessage.TicketNotice] = []
            if reader.consume(UInt8(ascii: "]")) { return reader.atEnd ? notices : nil }
            repeat {
                guard let notice = reader.ticketNotice() else { return nil }
                notices.append(notice)
            } while reader.consume(UInt8(ascii: ","))
            guard reader.consume(UInt8(ascii: "]")), reader.atEnd else { return nil }
            return notices
        }
    }

    /// `{"executor": …, "n": …}`, or nil to fall back to `JSONDecoder`.
    static func decodeCredit(_ payload: [UInt8]) -> WireMessage.Credit? {
        payload.withUnsafeBufferPointer { buffer in
            var reader = Reader(buffer)
            var executor: String?
            var n: Int?
            let complete = reader.object { reader, key in
                switch key {
                case "executor":
                    guard executor == nil, let value = reader.plainString() else { return false }
                    executor = String(decoding: value, as: UTF8.self)
                case "n":
                    guard n == nil, let value = reader.integer() else { return false }
                    n = Int(value)
                default: return false
                }
                return true
            }
            guard complete, reader.atEnd, let executor, let n else { return nil }
            return WireMessage.Credit(executor: executor, n: n)
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        var atEnd: Bool {
            mutating get {
                skipSpace()
                return position == bytes.count
            }
        }

        mutating func skipSpace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            skipSpace()
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        /// A string without escapes, as the bytes between its quotes.
        mutating func plainString() -> UnsafeBufferPointer<UInt8>? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let start = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    position += 1
                    return UnsafeBufferPointer(rebasing: bytes[start..<(position - 1)])
                }
                guard byte != UInt8(ascii: "\\"), byte >= 0x20 else { return nil }
                position += 1
            }
            return nil
        }

        /// An integer without fraction or exponent, within Int64.
        mutating func integer() -> Int64? {
            skipSpace()
            var negative = false
            if position < bytes.count, bytes[position] == UInt8(ascii: "-") {
                negative = true
                position += 1
            }
            let start = position
            var value: Int64 = 0
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.addingReportingOverflow(Int64(bytes[position] - UInt8(ascii: "0")))
                guard !o1, !o2 else { return nil }
                value = sum
                position += 1
            }
            guard position > start, position - start == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
            if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
                return nil
            }
            return negative ? -value : value
        }

        mutating func null() -> Bool {
            skipSpace()
            guard bytes.count - position >= 4, bytes[position..<(position + 4)].elementsEqual("null".utf8) else { return false }
            position += 4
            return true
        }

        /// Reads `{ "key": value, … }`, handing each key to `member`, which reads the value and says whether it was
        /// acceptable. Keys with escapes are not plain, so they fail (and the caller falls back).
        mutating func object(_ member: (inout Reader, String) -> Bool) -> Bool {
            guard consume(UInt8(ascii: "{")) else { return false }
            if consume(UInt8(ascii: "}")) { return true }
            repeat {
                guard let key = plainString(), consume(UInt8(ascii: ":")) else { return false }
                guard member(&self, String(decoding: key, as: UTF8.self)) else { return false }
            } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "}"))
        }

        mutating func ticketNotice() -> WireMessage.TicketNotice? {
            var id: TicketID?
            var job: String?
            var slot: Timestamp?
            var epoch: Int64??
            let complete = object { reader, key in
                switch key {
                case "id":
                    guard id == nil, let value = reader.plainString(), let parsed = TicketID(hexDigits: value) else { return false }
                    id = parsed
                case "job":
                    guard job == nil, let value = reader.plainString() else { return false }
                    job = String(decoding: value, as: UTF8.self)
                case "slot":
                    guard slot == nil, let value = reader.plainString(),
                        let parsed = Timestamp(rfc3339: String(decoding: value, as: UTF8.self))
                    else { return false }
                    slot = parsed
                case "epoch":
                    guard epoch == nil else { return false }
                    if reader.null() {
                        epoch = .some(nil)
                    } else {
                        guard let value = reader.integer() else { return false }
                        epoch = .some(value)
                    }
                default: return false
                }
                return true
            }
            guard complete, let id, let job, let slot else { return nil }
            return WireMessage.TicketNotice(id: id, job: JobID(rawValue: job), slot: slot, epoch: epoch ?? nil)
        }
    }
}
