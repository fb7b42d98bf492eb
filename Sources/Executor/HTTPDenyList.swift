import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IP address as a socket sees it. IPv4 is held as its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`) because that is
/// what an IPv6 socket connecting to `::ffff:169.254.169.254` reaches: one representation, one comparison.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// The 128 address bits, most significant first.
    public let bits: UInt128
    /// Written or received as IPv4 (AF_INET); only affects how it is printed.
    public let isIPv4: Bool

    static let mappedPrefix: UInt128 = 0xFFFF << 32

    public init(ipv4 host: UInt32) {
        bits = IPAddress.mappedPrefix | UInt128(host)
        isIPv4 = true
    }

    public init(ipv6 bytes: [UInt8]) {
        precondition(bytes.count == 16, "an IPv6 address has 16 bytes")
        bits = bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
        isIPv4 = false
    }

    public init(_ address: in_addr) {
        self.init(ipv4: UInt32(bigEndian: address.s_addr))
    }

    public init(_ address: in6_addr) {
        self.init(ipv6: withUnsafeBytes(of: address) { Array($0) })
    }

    /// A literal: dotted IPv4, or IPv6 with optional brackets and zone (`[fe80::1%eth0]`). nil for anything else.
    public init?(_ text: String) {
        var bare = text
        if bare.hasPrefix("[") && bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 {
            self.init(v4)
            return
        }
        let zoneless = bare.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? bare
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, zoneless, &v6) == 1 else { return nil }
        self.init(v6)
    }

    /// The address a `sockaddr_in` / `sockaddr_in6` names; nil for other families (refused by callers: fail closed).
    public init?(socketAddress: UnsafeRawPointer) {
        let family = socketAddress.load(as: sockaddr.self).sa_family
        switch Int32(family) {
        case AF_INET:
            self.init(socketAddress.load(as: sockaddr_in.self).sin_addr)
        case AF_INET6:
            self.init(socketAddress.load(as: sockaddr_in6.self).sin6_addr)
        default:
            return nil
        }
    }

    /// The IPv4 address inside `::ffff:a.b.c.d`, nil for other IPv6 addresses.
    public var mappedIPv4: UInt32? {
        bits >> 32 == 0xFFFF ? UInt32(truncatingIfNeeded: bits) : nil
    }

    public var description: String {
        if isIPv4, let v4 = mappedIPv4 {
            return "\(v4 >> 24).\(v4 >> 16 & 0xFF).\(v4 >> 8 & 0xFF).\(v4 & 0xFF)"
        }
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { raw in
            for index in 0..<16 { raw[index] = UInt8(truncatingIfNeeded: bits >> (8 * (15 - index))) }
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A CIDR block such as `169.254.0.0/16` or `fe80::/10`. An IPv4 block also covers the IPv4-mapped IPv6 addresses
/// of its members, so `::ffff:169.254.169.254` cannot slip past `169.254.0.0/16`.
public struct AddressRange: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
    /// In the range's own family: 0...32 for IPv4, 0...128 for IPv6.
    public let prefixLength: Int

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var text: String
        public var reason: String
        public var description: String { "\"\(text)\" \(reason)" }
    }

    /// `address/prefix`, or a bare address for that one address (`/32`, `/128`).
    public init(parsing text: String) throws(ParseError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let address = IPAddress(parts[0]), !parts[0].hasPrefix("["), !parts[0].contains("%") else {
            throw ParseError(text: text, reason: "is not a CIDR block such as 169.254.0.0/16 or fe80::/10")
        }
        let width = address.isIPv4 ? 32 : 128
        var prefix = width
        if parts.count == 2 {
            guard parts[1].utf8.allSatisfy({ (0x30...0x39).contains($0) }), let parsed = Int(parts[1]), (0...width).contains(parsed)
            else {
                throw ParseError(text: text, reason: "needs a prefix length from 0 to \(width)")
            }
            prefix = parsed
        }
        let range = AddressRange(network: address, prefixLength: prefix)
        guard range.network.bits & ~range.mask == 0 else {
            throw ParseError(text: text, reason: "has bits set beyond its /\(prefix) prefix")
        }
        self = range
    }

    public init(network: IPAddress, prefixLength: Int) {
        self.network = network
        self.prefixLength = prefixLength
    }

    /// The mask over all 128 bits (an IPv4 prefix sits after the 96 bits of the mapped prefix).
    var mask: UInt128 {
        let length = network.isIPv4 ? 96 + prefixLength : prefixLength
        return length == 0 ? 0 : ~UInt128(0) << (128 - length)
    }

    public func contains(_ address: IPAddress) -> Bool {
        address.bits & mask == network.bits & mask
    }

    public var description: String { "\(network)/\(prefixLength)" }
}

/// Where HTTP actions may not connect (`BATON_HTTP_DENY`, CONTRACT §9a): checked on the exact address of every
/// connection, after name resolution, so a name that resolves (or later rebinds) to a denied address is refused.
public struct HTTPDenyList: Sendable, Equatable, CustomStringConvertible {
    public var ranges: [AddressRange]

    public init(_ ranges: [AddressRange]) {
        self.ranges = ranges
    }

    private static func block(_ text: String) -> AddressRange {
        do {
            return try AddressRange(parsing: text)
        } catch {
            preconditionFailure("built-in range \(text) does not parse: \(error)")
        }
    }

    /// 169.254.0.0/16 and fe80::/10: cloud metadata services and other hosts' link-local neighbours.
    public static let linkLocal = [block("169.254.0.0/16"), block("fe80::/10")]
    /// Metadata services outside the link-local ranges: AWS's IPv6 (Nitro) and Alibaba Cloud's.
    public static let metadata = [block("fd00:ec2::254/128"), block("100.100.100.200/32")]
    /// The default `BATON_HTTP_DENY`.
    public static let standard = HTTPDenyList(linkLocal + metadata)
    /// `BATON_HTTP_ALLOW_LINK_LOCAL=true`: the default without the link-local ranges.
    public static let standardAllowingLinkLocal = HTTPDenyList(metadata)

    /// A comma-separated list of CIDR blocks; `none` (alone) denies nothing.
    public init(parsing text: String) throws(AddressRange.ParseError) {
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if items == ["none"] {
            self.init([])
            return
        }
        var ranges: [AddressRange] = []
        for item in items { ranges.append(try AddressRange(parsing: item)) }
        self.init(ranges)
    }

    /// The first range that holds `address`, nil when the address may be reached.
    public func denyingRange(for address: IPAddress) -> AddressRange? {
        ranges.first { $0.contains(address) }
    }

    public func isDenied(address: IPAddress) -> Bool {
        denyingRange(for: address) != nil
    }

    public var description: String { ranges.isEmpty ? "none" : ranges.map(\.description).joined(separator: ",") }
}
