import BatonCore
import BatonStore
import BatonTestSupport
import Foundation
import Testing

extension EndToEndTests {
    /// Issue 12, item 3, as reported: jobs every second, one stored spec with a field from a newer gateway, and one
    /// with a time zone this host lacks. Before the fix the tick failed as a whole ("not a known field") and the
    /// other jobs stopped; now the unknown field is ignored, the unplannable job is parked once, visibly, and
    /// every other job keeps its one-second rhythm.
    @Suite("One bad row does not stop every job", .serialized, .timeLimit(.minutes(2)))
    struct ParkingTests {
        @Test("a spec with an unknown field runs; a job with an unknown time zone is parked; the rest keep running", arguments: Backend.allCases)
        func unreadableJobIsParkedAndTheOthersRun(backend: Backend) async throws {
            let cluster = try await E2ECluster(backend)
            let jobs = cluster.jobs
            let policy = JobPolicy(overlap: .allow, misfireGrace: .seconds(30))
            let now = wallNow()
            for name in ["steady", "future"] {
                _ = try await jobs.create(JobSpec(name: name, schedule: ScheduleSpec(.every(.seconds(1))), action: .noop, policy: policy), now: now)
            }
            _ = try await jobs.create(
                JobSpec(name: "mars", schedule: ScheduleSpec(.cron("* * * * * *")), action: .noop, policy: policy), now: now)
            for (name, json) in [
                ("future", #"{"name":"future","futureField":1,"schedule":{"every":"1s"},"action":{"noop":{}},"policy":{"overlap":"allow","misfireGrace":"30s"}}"#),
                ("mars", #"{"name":"mars","schedule":{"cron":"* * * * * *","timezone":"Mars/Olympus_Mons"},"action":{"noop":{}}}"#),
            ] {
                try await cluster.database.storeRawSpec(jobName: name, json: json)
            }
            let scheduler = try cluster.scheduler("sched-a")
            try cluster.executor("exec-1")

            let running = try await eventually(timeout: .seconds(30)) {
                var done: [Int] = []
                for name in ["steady", "future"] { done.append(try await cluster.tickets(name).filter { $0.state == .succeeded }.count) }
                return done.allSatisfy { $0 >= 4 }
            }
            let parked = try await cluster.job("mars")
            await cluster.stopAll()
            #expect(running, "the readable jobs did not keep running\n\(cluster.logs())")
            #expect(parked?.state == .parked)
            #expect(parked?.parking?.reason.contains("Mars/Olympus_Mons") == true)
            #expect(try await cluster.tickets("mars").isEmpty)

            let lines = scheduler.log.split(separator: "\n")
            let parkings = lines.filter { $0.contains("job parked") }
            #expect(parkings.count == 1, "parked once, logged once: \(parkings)")
            #expect(parkings.first?.contains("mars") == true)
            #expect(!lines.contains { $0.contains("leader iteration failed") }, "\(cluster.logs())")
        }
    }
}
