import Executor
import Testing

/// The deny decision on addresses alone: no sockets, no names.
@Suite("HTTP deny list: CIDR parsing and the decision on addresses")
struct HTTPDenyListTests {
    static func address(_ text: String) -> IPAddress {
        guard let address = IPAddress(text) else { preconditionFailure("not an address: \(text)") }
        return address
    }

    @Test(arguments: [
        "169.254.169.254", "169.254.0.1", "169.254.255.255", "fe80::1", "[fe80::1]", "fe80::1%eth0", "febf:ffff::1",
        "::ffff:169.254.169.254", "fd00:ec2::254", "100.100.100.200",
    ])
    func theDefaultListDenies(address: String) {
        #expect(HTTPDenyList.standard.isDenied(address: Self.address(address)))
    }

    @Test(arguments: [
        "127.0.0.1", "::1", "10.0.0.1", "192.168.1.1", "169.253.255.255", "169.255.0.0", "fec0::1", "fd00:ec2::253",
        "fd00:ec2::255", "100.100.100.201", "::ffff:127.0.0.1", "8.8.8.8", "2001:db8::1",
    ])
    func theDefaultListAllows(address: String) {
        #expect(!HTTPDenyList.standard.isDenied(address: Self.address(address)))
    }

    @Test func allowingLinkLocalKeepsOnlyTheMetadataAddresses() {
        let list = HTTPDenyList.standardAllowingLinkLocal
        #expect(!list.isDenied(address: Self.address("169.254.169.254")))
        #expect(!list.isDenied(address: Self.address("fe80::1")))
        #expect(list.isDenied(address: Self.address("fd00:ec2::254")))
        #expect(list.isDenied(address: Self.address("100.100.100.200")))
        #expect(list.description == "fd00:ec2::254/128,100.100.100.200/32")
    }

    @Test func theMatchingRangeIsReported() throws {
        let list = try HTTPDenyList(parsing: "10.0.0.0/8, 169.254.0.0/16")
        #expect(list.denyingRange(for: Self.address("169.254.169.254"))?.description == "169.254.0.0/16")
        #expect(list.denyingRange(for: Self.address("::ffff:10.1.2.3"))?.description == "10.0.0.0/8")
        #expect(list.denyingRange(for: Self.address("11.0.0.0")) == nil)
    }

    @Test func anIPv4MappedIPv6RangeAlsoCoversPlainIPv4() throws {
        let list = try HTTPDenyList(parsing: "::ffff:169.254.0.0/112")
        #expect(list.isDenied(address: Self.address("169.254.1.2")))
        #expect(!list.isDenied(address: Self.address("169.253.1.2")))
    }

    @Test(arguments: [
        ("0.0.0.0/0", "203.0.113.9", true), ("0.0.0.0/0", "2001:db8::1", false), ("::/0", "2001:db8::1", true),
        ("::/0", "1.2.3.4", true), ("10.1.2.3", "10.1.2.3", true), ("10.1.2.3", "10.1.2.4", false),
        ("2001:db8::/32", "2001:db8:ffff::1", true), ("2001:db8::/32", "2001:db9::1", false),
    ])
    func prefixesMatchBitwise(range: String, address: String, denied: Bool) throws {
        #expect(try HTTPDenyList(parsing: range).isDenied(address: Self.address(address)) == denied)
    }

    @Test func noneDeniesNothing() throws {
        let list = try HTTPDenyList(parsing: "none")
        #expect(list.ranges.isEmpty)
        #expect(!list.isDenied(address: Self.address("169.254.169.254")))
    }

    @Test(arguments: [
        "metadata.internal", "169.254.0.0/33", "fe80::/129", "169.254.0.0/-1", "169.254.0.0/", "169.254.1.1/16", "fe80::1/10",
        "[fe80::]/10", "fe80::%eth0/10", "10.0.0.0/8/8", "1.2.3/8", "none,10.0.0.0/8",
    ])
    func invalidBlocksAreRejected(text: String) {
        #expect(throws: AddressRange.ParseError.self) { try HTTPDenyList(parsing: text) }
    }

    @Test func addressesPrintInTheirOwnFamily() {
        #expect(Self.address("169.254.169.254").description == "169.254.169.254")
        #expect(Self.address("::ffff:169.254.169.254").description == "::ffff:169.254.169.254")
        #expect(Self.address("FD00:EC2:0::254").description == "fd00:ec2::254")
    }
}
