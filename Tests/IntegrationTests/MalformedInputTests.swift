import BatonCore
import BatonStore
import BatonTestSupport
import Foundation
import Testing
import ZeroMQ

/// Garbage on the dispatch port must be counted, logged and dropped: no process exits and jobs keep running.
@Suite("Malformed wire input", .serialized, .timeLimit(.minutes(2)))
struct MalformedInputTests {
    @Test(arguments: Backend.allCases)
    func garbageFramesDoNotStopTheSchedulerOrTheJobs(backend: Backend) async throws {
        let workspace = try Workspace()
        let database = try await TestDatabase(backend, workspace: workspace)
        let endpoint = "tcp://127.0.0.1:\(freePort())"
        let environment = ["BATON_DB": database.url, "BATON_DISPATCH_BIND": endpoint, "BATON_SCHEDULERS": endpoint]
        _ = try await database.jobs.create(
            JobSpec(name: "steady", schedule: ScheduleSpec(.every(.seconds(1))), action: .noop, policy: JobPolicy(overlap: .allow)),
            now: SystemWallClock().now())
        let scheduler = try BatonProcess(["scheduler"], environment: environment, directory: workspace.directory, name: "scheduler")
        let executor = try BatonProcess(["executor"], environment: environment, directory: workspace.directory, name: "executor")
        let tickets = database.tickets
        func succeeded() async throws -> Int {
            try await tickets.list(TicketFilter(jobName: "steady", state: .succeeded), limit: 1000, cursor: nil).items.count
        }
        #expect(try await eventually(timeout: .seconds(20)) { try await succeeded() >= 2 })

        let context = try ZMQContext()
        let attacker = try ZMQSocket(context: context, type: .dealer)
        try attacker.set(.routingID, Array("attacker".utf8))
        try attacker.set(.sendTimeout, 2000)
        try attacker.connect(endpoint)
        let tag = Array("BATON/1".utf8)
        let forgedTicket = TicketID.manual(job: JobID(rawValue: "nope"), idempotencyKey: "forged")
        let garbage: [[[UInt8]]] = [
            [[]],
            [tag, Array("HELLO".utf8)],
            [Array("BATON/2".utf8), Array("HELLO".utf8), Array("{}".utf8)],
            [tag, Array("HELLO".utf8), Array("{not json".utf8)],
            [tag, Array("HELLO".utf8), Array(#"{"executor":"x","capacity":99999,"version":"1","queues":[]}"#.utf8)],
            [tag, Array("TICKETS".utf8), Array(#"[{"id":"\#(forgedTicket.hex)","job":"nope","slot":"2026-01-01T00:00:00Z","epoch":99}]"#.utf8)],
            [tag, Array("CREDIT".utf8), Array(#"{"executor":"ghost","n":5}"#.utf8)],
            [tag, Array("NOPE".utf8), (0..<64).map { UInt8($0) }],
            (0..<5).map { _ in (0..<16).map { _ in UInt8.random(in: 0...255) } },
        ]
        for frames in garbage { try attacker.send(frames) }
        // A 10 MB frame exceeds ZMQ_MAXMSGSIZE: libzmq drops the connection, the scheduler never sees it.
        try attacker.send([tag, Array("WAKE".utf8), [UInt8](repeating: 0x20, count: 10 << 20)])
        attacker.close()

        #expect(await eventually(timeout: .seconds(10)) { scheduler.log.contains("dropped malformed message") })
        let before = try await succeeded()
        #expect(try await eventually(timeout: .seconds(20)) { try await succeeded() >= before + 2 })
        #expect(scheduler.isRunning, "scheduler exited; log: \(scheduler.log.suffix(1500))")
        #expect(executor.isRunning, "executor exited; log: \(executor.log.suffix(1500))")
        // The forged ticket id was never written.
        #expect(try await tickets.ticket(forgedTicket) == nil)

        scheduler.signal(SIGTERM)
        executor.signal(SIGTERM)
        #expect(await scheduler.waitForExit() == 0)
        #expect(await executor.waitForExit() == 0)
    }
}
