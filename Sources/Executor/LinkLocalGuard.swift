import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Refuses HTTP targets in 169.254.0.0/16 and fe80::/10 (cloud metadata services live there), CONTRACT §9a.
///
/// The host is checked as written and as resolved, so a name that points at a link-local address is refused too.
/// (A DNS answer that changes between this check and the request can still slip through; the check is a
/// safety net against mistakes and casual abuse, not a network policy.)
enum LinkLocalGuard {
    /// Whether `host` (a literal or a name) is or resolves to a link-local address.
    static func isLinkLocal(host: String) async -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let literal = literalIsLinkLocal(bare) { return literal }
        return await withCheckedContinuation { continuation in
            // getaddrinfo blocks; keep it off the cooperative pool.
            DispatchQueue.global().async {
                continuation.resume(returning: resolvesToLinkLocal(bare))
            }
        }
    }

    /// nil when `text` is not an IP literal.
    static func literalIsLinkLocal(_ text: String) -> Bool? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return isLinkLocal(v4)
        }
        var v6 = in6_addr()
        let zoneless = text.split(separator: "%", maxSplits: 1).first.map(String.init) ?? text
        if inet_pton(AF_INET6, zoneless, &v6) == 1 {
            return isLinkLocal(v6)
        }
        return nil
    }

    private static func isLinkLocal(_ address: in_addr) -> Bool {
        let host = UInt32(bigEndian: address.s_addr)
        return host >> 16 == 0xA9FE
    }

    private static func isLinkLocal(_ address: in6_addr) -> Bool {
        withUnsafeBytes(of: address) { raw in
            let bytes = Array(raw)
            if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return true }
            // IPv4-mapped (::ffff:169.254.x.y) reaches the same IPv4 service.
            let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
            return mapped && bytes[12] == 169 && bytes[13] == 254
        }
    }

    private static func resolvesToLinkLocal(_ host: String) -> Bool {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return false }
        defer { freeaddrinfo(first) }
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr {
                switch Int32(entry.pointee.ai_family) {
                case AF_INET:
                    let found = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { isLinkLocal($0.pointee.sin_addr) }
                    if found { return true }
                case AF_INET6:
                    let found = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { isLinkLocal($0.pointee.sin6_addr) }
                    if found { return true }
                default:
                    break
                }
            }
            cursor = entry.pointee.ai_next
        }
        return false
    }
}
