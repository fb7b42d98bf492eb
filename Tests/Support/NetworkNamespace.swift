import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A Linux network namespace joined to this host by a veth pair with a private /30, for partition tests.
/// Creating one needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and iproute2; `isAvailable` probes exactly that,
/// so a test can skip with a clear message instead of failing where namespaces cannot be made.
public final class NetworkNamespace {
    public let name: String
    /// The host end of the veth pair; taking it down cuts the link for both ends.
    public let hostInterface: String
    public let hostAddress: String
    public let namespaceAddress: String
    private var destroyed = false

    public static let ip: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Whether namespaces and veth pairs can be created here: root, `ip` present, and a throwaway
    /// namespace with a veth pair can actually be made (containers often lack the capabilities).
    public static let isAvailable: Bool = {
        guard getuid() == 0, ip != nil else { return false }
        guard let probe = try? NetworkNamespace() else { return false }
        probe.destroy()
        return true
    }()

    /// Creates the namespace, the veth pair and a /30 in 10.213.0.0/16 that no interface here uses yet.
    public init() throws {
        let tag = String(UInt32.random(in: 0..<0xFFFF_FF), radix: 16)
        name = "baton-it-\(tag)"
        hostInterface = "bth\(tag)"
        let peer = "btn\(tag)"
        let inUse = (try? NetworkNamespace.run(["-o", "-4", "addr", "show"]).output) ?? ""
        var base = ""
        repeat {
            base = "10.213.\(Int.random(in: 0...255)).\(4 * Int.random(in: 0...63))"
        } while inUse.contains(base.split(separator: ".").prefix(3).joined(separator: ".") + ".")
        let octets = base.split(separator: ".").map(String.init)
        let prefix = octets.prefix(3).joined(separator: ".")
        let last = Int(octets[3])!
        hostAddress = "\(prefix).\(last + 1)"
        namespaceAddress = "\(prefix).\(last + 2)"
        do {
            try NetworkNamespace.create(
                name, hostInterface: hostInterface, peer: peer, inside: "\(namespaceAddress)/30",
                hostEnd: ["addr", "add", "\(hostAddress)/30", "dev", hostInterface])
        } catch {
            destroy()
            throw error
        }
    }

    /// Creates namespace `name` and a veth pair into it: the peer end, inside, gets `address` (CIDR) and comes up
    /// with the namespace's loopback; the host end `hostInterface` is set up by the `ip` command `hostEnd` (an
    /// address, or a bridge to join) and brought up.
    static func create(_ name: String, hostInterface: String, peer: String, inside address: String, hostEnd: [String]) throws {
        let inside = ["netns", "exec", name, ip ?? "ip"]
        try check(["netns", "add", name])
        try check(["link", "add", hostInterface, "type", "veth", "peer", "name", peer])
        try check(["link", "set", peer, "netns", name])
        try check(hostEnd)
        try check(["link", "set", hostInterface, "up"])
        try check(inside + ["addr", "add", address, "dev", peer])
        try check(inside + ["link", "set", peer, "up"])
        try check(inside + ["link", "set", "lo", "up"])
    }

    /// Runs a command inside the namespace when prefixed to it (`ip netns exec` execs in place, keeping the PID).
    public var launcher: [String] { [NetworkNamespace.ip ?? "ip", "netns", "exec", name] }

    /// Brings the host end of the link up or down.
    public func setLink(up: Bool) throws {
        try NetworkNamespace.check(["link", "set", hostInterface, up ? "up" : "down"])
    }

    /// Deletes the veth pair (both ends) and the namespace. Processes started inside must be stopped first.
    public func destroy() {
        guard !destroyed else { return }
        destroyed = true
        _ = try? NetworkNamespace.run(["link", "del", hostInterface])
        _ = try? NetworkNamespace.run(["netns", "del", name])
    }

    deinit { destroy() }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    static func check(_ arguments: [String]) throws {
        let result = try run(arguments)
        guard result.status == 0 else {
            throw Failure(description: "ip \(arguments.joined(separator: " ")) exited \(result.status): \(result.output)")
        }
    }

    /// Runs `ip` with a bounded wait (10 s, then SIGKILL).
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        guard let ip else { throw Failure(description: "iproute2 `ip` is not installed") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }  // polls an exit, bounded by the 10 s deadline
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, output)
    }
}
