import Foundation
import Hummingbird

/// A `host:port` to listen on (`BATON_HTTP_BIND`, `BATON_METRICS_BIND`); IPv6 hosts in brackets.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `127.0.0.1:8080`, `[::1]:8080`, `0.0.0.0:80`, `localhost:0`.
    public init(parsing text: String) throws(ListenAddressError) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ListenAddressError(text: text)
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { throw ListenAddressError(text: text) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { throw ListenAddressError(text: text) }
        self.host = String(host)
        self.port = port
    }

    /// Loopback addresses are reachable only from this machine: `127.0.0.0/8`, `::1`, `localhost`.
    public var isLoopback: Bool {
        let lowered = host.lowercased()
        return lowered == "localhost" || lowered == "::1" || lowered.hasPrefix("127.")
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    var hummingbird: Hummingbird.BindAddress { .hostname(host, port: port) }
}

public struct ListenAddressError: Error, Sendable, CustomStringConvertible {
    public var text: String
    public var description: String { "\"\(text)\" is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)" }
}
