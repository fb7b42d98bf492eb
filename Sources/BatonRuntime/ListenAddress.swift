import Foundation
import Hummingbird

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    public var isLoopback: Bool { Self.isLoopback(host: host) }

    /// Whether `host` names this machine's loopback interface: exactly `localhost`, or an IP literal in
    /// `127.0.0.0/8` or `::1` (IPv4-mapped `::ffff:127.x.y.z` too), with or without IPv6 brackets.
    /// Parsed as an address, never matched as text: `127.0.0.1.evil.example` is a DNS name that can point
    /// anywhere, and `127.1` is not an address `inet_pton` accepts, so neither counts.
    public static func isLoopback(host: String) -> Bool {
        var text = Substring(host)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if text.lowercased() == "localhost" { return true }
        guard let bytes = IPLiteral.bytes(String(text)) else { return false }
        switch bytes.count {
        case 4:
            return bytes[0] == 127
        default:
            let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff
            if mapped { return bytes[12] == 127 }
            return bytes[0..<15].allSatisfy { $0 == 0 } && bytes[15] == 1
        }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The same address as Hummingbird binds it (the gateway and every role's metrics endpoint).
    public var hummingbird: Hummingbird.BindAddress { .hostname(host, port: port) }
}

public struct ListenAddressError: Error, Sendable, CustomStringConvertible {
    public var text: String
    public var description: String { "\"\(text)\" is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)" }
}

/// Numeric IP addresses, parsed by `inet_pton`: the same grammar the socket layer uses, so nothing that
/// passes here is later read as a different address (no shorthand such as `127.1`, no octal, no zone ids).
enum IPLiteral {
    /// The 4 (IPv4) or 16 (IPv6) network-order bytes of `text`, or nil when it is not an address literal.
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
