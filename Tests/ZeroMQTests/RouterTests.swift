import Testing
import ZeroMQ

@Suite(.timeLimit(.minutes(1)))
struct RouterTests {
    @Test(arguments: Transport.allCases)
    func routerRepliesToEachDealerByIdentity(transport: Transport) throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.set(.routerMandatory, true)
        let endpoint = try bindFresh(router, transport)

        let names = ["worker-a", "worker-b"]
        var dealers: [ZMQSocket] = []
        for name in names {
            let dealer = try ZMQSocket(context: context, type: .dealer)
            try dealer.set(.routingID, bytes(name))
            try dealer.connect(endpoint)
            try dealer.send([bytes("ready")])
            dealers.append(dealer)
        }

        var seen: Set<[UInt8]> = []
        for _ in names {
            let message = try #require(try receive(router))
            #expect(message.count == 2)
            #expect(message.last == bytes("ready"))
            seen.insert(message[0])
        }
        #expect(seen == Set(names.map(bytes)))

        for name in names {
            try router.send([bytes(name), bytes("job for \(name)")])
        }
        for (name, dealer) in zip(names, dealers) {
            #expect(try receive(dealer) == [bytes("job for \(name)")])
        }
    }

    @Test func mandatoryRouterThrowsHostUnreachableForUnknownPeer() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.set(.routerMandatory, true)
        _ = try bindFresh(router, .tcp)

        let error = #expect(throws: ZMQError.self) {
            try router.send([bytes("ghost"), bytes("job")])
        }
        #expect(error?.code == .hostUnreachable)
        #expect(error?.errno == ZMQError.Code.hostUnreachable.rawValue)
    }

    @Test func nonMandatoryRouterDropsSilently() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        _ = try bindFresh(router, .tcp)
        #expect(try router.send([bytes("ghost"), bytes("job")]))
    }

    @Test func routingIDIsReadBack() throws {
        let context = try ZMQContext()
        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.set(.routingID, bytes("scheduler-1"))
        #expect(try dealer.get(.routingID) == bytes("scheduler-1"))
    }
}
