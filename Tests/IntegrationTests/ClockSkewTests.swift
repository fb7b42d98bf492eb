import BatonCore
import BatonPostgresTestSupport
import BatonStore
import BatonTestSupport
import Foundation
import Testing

/// Issue 14 item 2: on PostgreSQL, leases are judged by the database server's clock, so a scheduler whose host clock
/// is off by far more than the lease TTL neither steals a live lease (clock ahead) nor lets its own lapse (clock
/// behind). Each process measures its offset to the server (`DatabaseClock`); without that, both tests change the
/// epoch within a second. The skew is the debug build's `BATON_DEBUG_HOST_CLOCK_OFFSET` (Sources/baton/HostClock.swift
/// says why not libfaketime).
@Suite("Clock skew on PostgreSQL", .serialized, .timeLimit(.minutes(2)))
struct ClockSkewTests {
    static let ttl = "3s"

    /// A scheduler on `database`, its wall clock shifted by `skew` (`30s` ahead, `-30s` behind) when given.
    func scheduler(_ name: String, _ database: TemporaryPostgres, workspace: Workspace, skew: String? = nil) throws -> BatonProcess {
        var environment = [
            "BATON_DB": database.url, "BATON_DISPATCH_BIND": "tcp://127.0.0.1:\(freePort())", "BATON_LEASE_TTL": Self.ttl,
            "BATON_SCHEDULER_ID": name,
        ]
        if let skew { environment["BATON_DEBUG_HOST_CLOCK_OFFSET"] = skew }
        return try BatonProcess(["scheduler"], environment: environment, directory: workspace.directory, name: name)
    }

    func signal(_ scheduler: BatonProcess, _ number: Int32) { scheduler.signal(number) }

    func leads(_ name: String, _ leases: any LeaderLeaseStore) async throws -> Bool {
        try await eventually(timeout: .seconds(20)) { try await leases.current()?.holder == name }
    }

    /// Both schedulers heartbeat (the standby is up and looking at the lease) for three lease TTLs, then the lease
    /// must still be the same holder at the same epoch.
    func holdsForThreeTTLs(_ lease: LeaderLease, _ database: TemporaryPostgres, standby: String) async throws {
        let nodes = database.backend.stores.nodes
        #expect(
            try await eventually(timeout: .seconds(20)) {
                try await nodes.schedulers(seenSince: Timestamp(milliseconds: 0)).contains { $0.id == standby }
            })
        try await hold(.seconds(9))  // the subject: three 3 s lease TTLs pass with both schedulers running
        let now = try #require(try await database.backend.stores.leases.current())
        #expect(now.holder == lease.holder && now.epoch == lease.epoch, "the lease moved: \(lease.holder)@\(lease.epoch) → \(now.holder)@\(now.epoch)")
    }

    @Test func aSchedulerWhoseClockIsThirtySecondsAheadDoesNotStealALiveLease() async throws {
        let workspace = try Workspace()
        let database = try await TemporaryPostgres()
        let leases = database.backend.stores.leases
        let a = try scheduler("true-clock", database, workspace: workspace)
        defer { a.signal(SIGKILL) }
        #expect(try await leads("true-clock", leases))
        let lease = try #require(try await leases.current())
        let ahead = try scheduler("clock-ahead", database, workspace: workspace, skew: "30s")
        defer { signal(ahead, SIGKILL) }
        try await holdsForThreeTTLs(lease, database, standby: "clock-ahead")

        // And it does take a dead one, once the server's clock says the lease has expired.
        a.signal(SIGKILL)
        await a.waitForExit()
        #expect(try await leads("clock-ahead", leases))
        #expect(try await leases.current()?.epoch == lease.epoch + 1)
        signal(ahead, SIGTERM)
        await ahead.waitForExit()
    }

    @Test func aLeaderWhoseClockIsThirtySecondsBehindKeepsItsLease() async throws {
        let workspace = try Workspace()
        let database = try await TemporaryPostgres()
        let leases = database.backend.stores.leases
        let behind = try scheduler("clock-behind", database, workspace: workspace, skew: "-30s")
        defer { signal(behind, SIGKILL) }
        #expect(try await leads("clock-behind", leases))
        let lease = try #require(try await leases.current())
        let b = try scheduler("true-clock", database, workspace: workspace)
        defer { b.signal(SIGKILL) }
        try await holdsForThreeTTLs(lease, database, standby: "true-clock")
        for process in [behind, b] { signal(process, SIGTERM) }
        for process in [behind, b] { await process.waitForExit() }
    }
}
