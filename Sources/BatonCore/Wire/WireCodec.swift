/// One writer and one reader per message, each next to the other so a member added to one is seen missing from
/// the other. Writers put members in sorted key order (what `JSONEncoder` with `.sortedKeys` wrote); readers take
/// them in any order, skip unknown members and keep the first of repeated ones. A missing member that is not
/// optional, a member of the wrong type, or a value out of range is a `bad_payload` `WireError`.
extension WireMessage.Hello {
    func write(to out: inout WireWriter) {
        out.raw(#"{"capacity":"#)
        out.integer(capacity)
        out.raw(#","executor":"#)
        out.string(executor)
        out.raw(#","queues":["#)
        for (index, queue) in queues.enumerated() {
            if index > 0 { out.byte(",") }
            out.string(queue)
        }
        out.raw(#"],"version":"#)
        out.string(version)
        out.byte("}")
    }

    init(reading reader: inout WireReader) throws(WireError) {
        var executor: String?
        var capacity: Int?
        var version: String?
        var queues: [String]?
        try reader.object { reader, key throws(WireError) in
            switch key {
            case "executor" where executor == nil: executor = try reader.string()
            case "capacity" where capacity == nil: capacity = try reader.integer()
            case "version" where version == nil: version = try reader.string()
            case "queues" where queues == nil:
                var names: [String] = []
                try reader.array { reader throws(WireError) in
                    // Checked while reading: a 1 MiB HELLO of one-letter names would otherwise be 200,000 Strings.
                    guard names.count < Self.maximumQueues else {
                        throw WireError(.badPayload, "HELLO lists more than \(Self.maximumQueues) queues")
                    }
                    names.append(try reader.string())
                }
                queues = names
            default: try reader.skipValue()
            }
        }
        guard let executor, let capacity, let version, let queues else {
            throw reader.failure("executor, capacity, version and queues are required")
        }
        guard (1...1024).contains(capacity) else { throw WireError(.badPayload, "HELLO capacity must be 1...1024") }
        guard (1...255).contains(executor.utf8.count) else { throw WireError(.badPayload, "HELLO executor must be 1 to 255 bytes") }
        guard queues.allSatisfy(JobSpec.isValidName) else {
            throw WireError(.badPayload, "HELLO queue names must match [a-z0-9][a-z0-9._-]{0,62}")
        }
        self.init(executor: executor, capacity: capacity, version: version, queues: queues)
    }
}

extension WireMessage.Credit {
    func write(to out: inout WireWriter) {
        out.raw(#"{"executor":"#)
        out.string(executor)
        out.raw(#","n":"#)
        out.integer(n)
        out.byte("}")
    }

    init(reading reader: inout WireReader) throws(WireError) {
        var executor: String?
        var n: Int?
        try reader.object { reader, key throws(WireError) in
            switch key {
            case "executor" where executor == nil: executor = try reader.string()
            case "n" where n == nil: n = try reader.integer()
            default: try reader.skipValue()
            }
        }
        guard let executor, let n else { throw reader.failure("executor and n are required") }
        guard (0...1024).contains(n) else { throw WireError(.badPayload, "CREDIT n must be 0...1024") }
        self.init(executor: executor, n: n)
    }
}

extension WireMessage.TicketNotice {
    /// `[{"id": …}, …]`.
    static func write(_ notices: [Self], to out: inout WireWriter) {
        out.byte("[")
        for (index, notice) in notices.enumerated() {
            if index > 0 { out.byte(",") }
            out.raw(#"{"id":"#)
            out.ticketID(notice.id)
            out.byte("}")
        }
        out.byte("]")
    }

    /// Leaders before issue 13 also wrote `job`, `slot` and `epoch`; like any member this reader does not know,
    /// they are skipped, so a notice from either kind of leader reads the same.
    static func read(_ reader: inout WireReader) throws(WireError) -> [Self] {
        var notices: [Self] = []
        try reader.array { reader throws(WireError) in
            var id: TicketID?
            try reader.object { reader, key throws(WireError) in
                switch key {
                case "id" where id == nil: id = try reader.ticketID()
                default: try reader.skipValue()
                }
            }
            guard let id else { throw reader.failure("a ticket notice needs an id") }
            notices.append(Self(id: id))
        }
        return notices
    }
}

extension WireMessage.Heartbeat {
    func write(to out: inout WireWriter) {
        out.raw(#"{"inFlight":"#)
        out.integer(inFlight)
        out.raw(#","sender":"#)
        out.string(sender)
        out.byte("}")
    }

    init(reading reader: inout WireReader) throws(WireError) {
        var sender: String?
        var inFlight: Int?
        try reader.object { reader, key throws(WireError) in
            switch key {
            case "sender" where sender == nil: sender = try reader.string()
            case "inFlight" where inFlight == nil: inFlight = try reader.integer()
            default: try reader.skipValue()
            }
        }
        guard let sender, let inFlight else { throw reader.failure("sender and inFlight are required") }
        self.init(sender: sender, inFlight: inFlight)
    }
}

extension WireMessage.NotLeader {
    func write(to out: inout WireWriter) { out.objectWithString("scheduler", scheduler) }

    init(reading reader: inout WireReader) throws(WireError) {
        self.init(scheduler: try reader.objectWithString("scheduler"))
    }
}

extension WireMessage.Wake {
    /// `{}` without a ticket: `JSONEncoder` leaves out a nil optional rather than writing `null`.
    func write(to out: inout WireWriter) {
        guard let ticket else { return out.raw("{}") }
        out.raw(#"{"ticket":"#)
        out.ticketID(ticket)
        out.byte("}")
    }

    /// The ticket is optional (an older gateway sends `{}`), and `null` means the same as leaving it out.
    init(reading reader: inout WireReader) throws(WireError) {
        var ticket: TicketID??
        try reader.object { reader, key throws(WireError) in
            switch key {
            case "ticket" where ticket == nil:
                if reader.null() { ticket = .some(nil) } else { ticket = .some(try reader.ticketID()) }
            default: try reader.skipValue()
            }
        }
        self.init(ticket: ticket ?? nil)
    }
}

extension WireMessage.Bye {
    func write(to out: inout WireWriter) { out.objectWithString("sender", sender) }

    init(reading reader: inout WireReader) throws(WireError) {
        self.init(sender: try reader.objectWithString("sender"))
    }
}

extension WireMessage.Cancel {
    func write(to out: inout WireWriter) {
        out.raw(#"{"ticket":"#)
        out.ticketID(ticket)
        out.byte("}")
    }

    init(reading reader: inout WireReader) throws(WireError) {
        var ticket: TicketID?
        try reader.object { reader, key throws(WireError) in
            switch key {
            case "ticket" where ticket == nil: ticket = try reader.ticketID()
            default: try reader.skipValue()
            }
        }
        guard let ticket else { throw reader.failure("ticket is required") }
        self.init(ticket: ticket)
    }
}

extension WireWriter {
    /// `{"<key>":"<value>"}`: NOTLEADER and BYE.
    mutating func objectWithString(_ key: StaticString, _ value: String) {
        raw(#"{""#)
        raw(key)
        raw(#"":"#)
        string(value)
        byte("}")
    }
}

extension WireReader {
    /// An object whose one required member is the string `key`; unknown members and a repeat of `key` are skipped
    /// (the first wins): NOTLEADER and BYE.
    mutating func objectWithString(_ key: String) throws(WireError) -> String {
        var value: String?
        try object { reader, member throws(WireError) in
            if member == key && value == nil { value = try reader.string() } else { try reader.skipValue() }
        }
        guard let value else { throw failure("\(key) is required") }
        return value
    }
}
