/// A `host[:port]` as the `Host` header and the authority of an `Origin` carry it (RFC 3986 §3.2.2):
/// the host lowercased, IPv6 literals kept in their brackets, the port only when one is written.
struct Authority: Equatable, Sendable {
    var host: String
    var port: Int?

    init(host: String, port: Int?) {
        self.host = host
        self.port = port
    }

    /// Nil for anything that is not exactly `host` or `host:port` with a decimal port ≤ 65535.
    init?(_ text: String) {
        let lowered = text.lowercased()
        let hostPart: Substring
        let portPart: Substring?
        if lowered.hasPrefix("[") {
            guard let close = lowered.firstIndex(of: "]") else { return nil }
            hostPart = lowered[...close]
            let rest = lowered[lowered.index(after: close)...]
            guard rest.isEmpty || rest.first == ":" else { return nil }
            portPart = rest.isEmpty ? nil : rest.dropFirst()
        } else {
            let pieces = lowered.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            hostPart = pieces[0]
            portPart = pieces.count == 2 ? pieces[1] : nil
        }
        guard !hostPart.isEmpty else { return nil }
        if let portPart {
            guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy({ $0.isASCII && $0.isNumber }),
                let port = Int(portPart), port <= 65535
            else { return nil }
            self.port = port
        } else {
            self.port = nil
        }
        host = String(hostPart)
    }
}
