import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Several "hosts" on one private network segment: each host is a Linux network namespace whose veth pair joins a
/// bridge here, and this namespace is a host on the segment too (it holds the bridge's address), where a test runs
/// its database and recording endpoint. Hosts reach each other and this namespace directly (one L2 segment, no
/// routing); taking a host's link down cuts it off from all of them. Needs what ``NetworkNamespace`` needs.
public final class VirtualNetwork {
    public let bridge: String
    /// This namespace's address on the segment.
    public let address: String
    private let prefix: String
    private(set) public var hosts: [Host] = []
    private var destroyed = false

    public final class Host {
        public let name: String
        public let address: String
        /// The veth end on the bridge; taking it down cuts the host off.
        let interface: String

        init(name: String, address: String, interface: String) {
            self.name = name
            self.address = address
            self.interface = interface
        }

        /// Runs a command inside the host when prefixed to it (`ip netns exec` execs in place, keeping the PID).
        public var launcher: [String] { [NetworkNamespace.ip ?? "ip", "netns", "exec", name] }

        /// Connects or cuts the host's link to the segment.
        public func setLink(up: Bool) throws {
            try NetworkNamespace.check(["link", "set", interface, up ? "up" : "down"])
        }
    }

    /// Creates the bridge with a /24 in 10.214.0.0/16 that no interface here uses yet.
    public init() throws {
        let tag = String(UInt32.random(in: 0..<0xFFFF_FF), radix: 16)
        bridge = "btb\(tag)"
        let inUse = (try? NetworkNamespace.run(["-o", "-4", "addr", "show"]).output) ?? ""
        var candidate = ""
        repeat {
            candidate = "10.214.\(Int.random(in: 0...255))"
        } while inUse.contains(candidate + ".")
        prefix = candidate
        address = "\(prefix).1"
        do {
            try NetworkNamespace.check(["link", "add", bridge, "type", "bridge"])
            try NetworkNamespace.check(["addr", "add", "\(address)/24", "dev", bridge])
            try NetworkNamespace.check(["link", "set", bridge, "up"])
        } catch {
            destroy()
            throw error
        }
    }

    /// A new host on the segment, its link up.
    public func addHost() throws -> Host {
        let number = hosts.count + 2
        let tag = "\(bridge.dropFirst(3))\(number)"
        let host = Host(name: "baton-host-\(tag)", address: "\(prefix).\(number)", interface: "bvh\(tag)")
        // Recorded first, so that ``destroy()`` removes whatever part of it was made.
        hosts.append(host)
        try NetworkNamespace.create(
            host.name, hostInterface: host.interface, peer: "bvn\(tag)", inside: "\(host.address)/24",
            hostEnd: ["link", "set", host.interface, "master", bridge])
        return host
    }

    /// Deletes every host's veth pair and namespace, then the bridge. Processes started inside must be stopped first.
    public func destroy() {
        guard !destroyed else { return }
        destroyed = true
        for host in hosts {
            _ = try? NetworkNamespace.run(["link", "del", host.interface])
            _ = try? NetworkNamespace.run(["netns", "del", host.name])
        }
        _ = try? NetworkNamespace.run(["link", "del", bridge])
    }

    deinit { destroy() }
}
