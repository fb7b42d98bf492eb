import BatonCore
import Testing

@Suite("Tick planner: catch-up, overlap, jitter")
struct TickPlannerTests {
    let t0 = Timestamp(milliseconds: 1_790_000_000_000)

    func job(every: TimeSpan = .seconds(10), policy: JobPolicy, watermark: TimeSpan = .zero) -> (Job, Schedule) {
        let spec = JobSpec(name: "j", schedule: ScheduleSpec(.every(every)), action: .noop, policy: policy)
        let job = Job(
            id: JobID(rawValue: "job-1"), revision: 1, spec: spec, state: .active, createdAt: t0, updatedAt: t0,
            watermark: t0 + watermark, nextFireAt: nil)
        // An every schedule cannot fail to resolve.
        return (job, Schedule(rule: .every(interval: every, anchor: t0)))
    }

    func plan(_ policy: JobPolicy, every: TimeSpan = .seconds(10), busy: Bool = false, at now: TimeSpan, lookahead: TimeSpan = .zero) -> TickPlan {
        let (job, schedule) = job(every: every, policy: policy)
        return TickPlanner.plan(job: job, schedule: schedule, hasUnfinished: busy, now: t0 + now, lookahead: lookahead)
    }

    func slots(_ plan: TickPlan, _ state: TicketState) -> [Int64] {
        plan.tickets.filter { $0.state == state }.map { ($0.slot.milliseconds - t0.milliseconds) / 1000 }
    }

    @Test func onTimeSlotsRunAndTheWatermarkAdvances() {
        let p = plan(JobPolicy(overlap: .allow), at: .seconds(25))
        #expect(slots(p, .pending) == [10, 20])
        #expect(p.watermark == t0 + .seconds(20))
        #expect(p.nextFireAt == t0 + .seconds(30))
        #expect(p.dueAt == t0 + .seconds(30))
    }

    @Test func catchupAllRunsEveryMissedSlotUpToTheLimit() {
        // 150 missed slots (10 s apart), grace 60 s: the newest 100 missed plus the on-time ones run.
        let p = plan(JobPolicy(overlap: .allow, catchup: .all, misfireGrace: .seconds(60)), at: .seconds(1_505))
        let pending = slots(p, .pending)
        let skipped = p.tickets.filter { $0.state == .skipped }
        #expect(pending.count == 100 + 6)
        #expect(pending.last == 1_500)
        #expect(skipped.count == 44)
        #expect(skipped.allSatisfy { $0.reason == .catchupLimit })
        // Catch-up `all` tickets never expire unclaimed.
        #expect(p.tickets.filter { $0.state == .pending }.allSatisfy { $0.deadline == nil })
    }

    @Test func catchupLatestRunsOnlyTheNewestMissedSlot() {
        // Down from 5 s to 95 s with grace 5 s: slots 10…90 missed, none on time at 95 s (90 is 5 s late: on time).
        let p = plan(JobPolicy(overlap: .allow, catchup: .latest, misfireGrace: .seconds(3)), at: .seconds(95))
        #expect(slots(p, .pending) == [90])
        #expect(slots(p, .skipped) == [10, 20, 30, 40, 50, 60, 70, 80])
        #expect(p.tickets.filter { $0.state == .skipped }.allSatisfy { $0.reason == .misfire })
        #expect(p.tickets.first { $0.state == .pending }?.deadlineIfNewer == true)
    }

    @Test func catchupLatestRunsNoMissedSlotWhenOneIsWithinGrace() {
        let p = plan(JobPolicy(overlap: .allow, catchup: .latest, misfireGrace: .seconds(6)), at: .seconds(95))
        #expect(slots(p, .pending) == [90])
        #expect(slots(p, .skipped) == [10, 20, 30, 40, 50, 60, 70, 80])
    }

    @Test func catchupNoneSkipsEveryMissedSlot() {
        let p = plan(JobPolicy(overlap: .allow, catchup: .none, misfireGrace: .seconds(3)), at: .seconds(95))
        #expect(slots(p, .pending) == [])
        #expect(slots(p, .skipped) == [10, 20, 30, 40, 50, 60, 70, 80, 90])
        #expect(p.watermark == t0 + .seconds(90))
    }

    @Test func skippedSlotsBeyondOneHundredAreCountedNotRecorded() {
        let p = plan(JobPolicy(overlap: .allow, catchup: .none, misfireGrace: .seconds(1)), every: .seconds(1), at: .seconds(250) + .milliseconds(500))
        let skipped = p.tickets.filter { $0.state == .skipped }
        #expect(skipped.count == 100)
        #expect(p.unrecordedSkips == 149)  // 249 missed; slot 250 is on time
        #expect(skipped.last?.detail?.contains("149 earlier skipped slots were not recorded") == true)
        #expect(p.watermark == t0 + .seconds(250))
    }

    /// Plans tick after tick at one instant, as the leader does while a backlog is counted (`dueAt == now`),
    /// carrying the watermark and the unrecorded count; returns every plan.
    func planUntilDecided(_ policy: JobPolicy, every: TimeSpan, at now: TimeSpan) -> [TickPlan] {
        let (job, schedule) = job(every: every, policy: policy)
        var subject = TickPlanner.Subject(job)
        var plans: [TickPlan] = []
        repeat {
            let plan = TickPlanner.plan(subject, schedule: schedule, unfinished: 0, now: t0 + now, lookahead: .zero)
            plans.append(plan)
            subject.watermark = plan.watermark
            subject.nextFireAt = plan.nextFireAt
            subject.unrecordedSkips = plan.carriedSkips
        } while plans.last?.dueAt == t0 + now && plans.count < 100
        return plans
    }

    @Test func catchupLatestAfterALongDowntimeRunsOnlyTheNewestSlot() throws {
        // Every 10 s, down for 2,500,000 s (29 days): 250,000 missed slots, more than one tick enumerates.
        let plans = planUntilDecided(JobPolicy(overlap: .forbid, catchup: .latest, misfireGrace: .seconds(3)), every: .seconds(10), at: .seconds(2_500_005))
        let tickets = plans.flatMap(\.tickets)
        #expect(tickets.filter { $0.state == .pending }.map(\.slot) == [t0 + .seconds(2_500_000)])
        let skipped = tickets.filter { $0.state == .skipped }
        #expect(skipped.count == 100)
        #expect(skipped.map(\.slot) == (0..<100).map { t0 + .seconds(2_499_000 + Int64($0) * 10) })
        #expect(plans.map(\.unrecordedSkips).reduce(0, +) == 250_000 - 1 - 100)
        #expect(skipped.last?.detail?.contains("249899 earlier skipped slots were not recorded") == true)
        #expect(plans.last?.watermark == t0 + .seconds(2_500_000))
        #expect(plans.last?.carriedSkips == 0)
    }

    @Test func catchupNoneAfterALongDowntimeRecordsAtMostOneHundredSkips() {
        let plans = planUntilDecided(JobPolicy(overlap: .allow, catchup: .none, misfireGrace: .seconds(1)), every: .seconds(1), at: .seconds(300_000) + .milliseconds(500))
        let tickets = plans.flatMap(\.tickets)
        #expect(tickets.filter { $0.state == .skipped }.count == 100)
        #expect(tickets.filter { $0.state == .pending }.map(\.slot) == [t0 + .seconds(300_000)])
        #expect(plans.map(\.unrecordedSkips).reduce(0, +) == 299_999 - 100)
    }

    @Test func catchupAllWithForbidQueuesAtMostOneHundredUnfinishedTickets() {
        let (job, schedule) = job(policy: JobPolicy(overlap: .forbid, catchup: .all, misfireGrace: .seconds(1)))
        // 98 unfinished: room for two more, the newest slots kept.
        let nearlyFull = TickPlanner.plan(TickPlanner.Subject(job), schedule: schedule, unfinished: 98, now: t0 + .seconds(35), lookahead: .zero)
        #expect(slots(nearlyFull, .pending) == [20, 30])
        #expect(slots(nearlyFull, .skipped) == [10])
        #expect(nearlyFull.tickets.first?.reason == .catchupLimit)
        #expect(nearlyFull.tickets.first?.detail?.contains("100 unfinished tickets") == true)
        #expect(nearlyFull.watermark == t0 + .seconds(30))
        // Full: every slot is skipped, and the watermark moves on (the queue does not grow).
        let full = TickPlanner.plan(TickPlanner.Subject(job), schedule: schedule, unfinished: 100, now: t0 + .seconds(35), lookahead: .seconds(10))
        #expect(slots(full, .pending) == [])
        #expect(slots(full, .skipped) == [10, 20, 30])
        #expect(full.tickets.allSatisfy { $0.reason == .catchupLimit })
        #expect(full.dueAt == t0 + .seconds(50))  // the slot ahead (40 s) is judged when due
    }

    @Test func forbidSkipsASlotWhileAnEarlierTicketIsUnfinished() {
        let p = plan(JobPolicy(overlap: .forbid), busy: true, at: .seconds(12))
        #expect(slots(p, .pending) == [])
        #expect(p.tickets.map(\.reason) == [.overlap])
        let idle = plan(JobPolicy(overlap: .forbid), busy: false, at: .seconds(25))
        #expect(slots(idle, .pending) == [10])
        #expect(slots(idle, .skipped) == [20])
        #expect(idle.tickets.first?.serialized == true)
    }

    @Test func forbidWithCatchupAllWritesEverySlotToRunInOrder() {
        let p = plan(JobPolicy(overlap: .forbid, catchup: .all, misfireGrace: .seconds(1)), busy: true, at: .seconds(35))
        #expect(slots(p, .pending) == [10, 20, 30])
        #expect(p.tickets.allSatisfy { $0.serialized })
    }

    @Test func replaceCancelsTheUnfinishedTicketAndRunsTheNewSlot() {
        let p = plan(JobPolicy(overlap: .replace), busy: true, at: .seconds(12))
        #expect(p.cancelUnfinished)
        #expect(slots(p, .pending) == [10])
        let idle = plan(JobPolicy(overlap: .replace), busy: false, at: .seconds(12))
        #expect(!idle.cancelUnfinished)
    }

    @Test func slotsAheadAreWrittenEarlyUnlessOverlapMustWaitForTheirTime() {
        let allow = plan(JobPolicy(overlap: .allow), at: .seconds(9), lookahead: .seconds(2))
        #expect(slots(allow, .pending) == [10])
        #expect(allow.watermark == t0 + .seconds(10))

        // forbid with an unfinished ticket: decide at the slot's time, not a second early.
        let busy = plan(JobPolicy(overlap: .forbid), busy: true, at: .seconds(9), lookahead: .seconds(2))
        #expect(busy.tickets.isEmpty)
        #expect(busy.watermark == t0)
        #expect(busy.dueAt == t0 + .seconds(12))  // looked at again when now + lookahead ≥ 12 s, i.e. at 10 s
    }

    @Test func jitterDelaysTheDueTimeButNotTheSlot() throws {
        let p = plan(JobPolicy(overlap: .allow, misfireGrace: .seconds(60), jitter: .seconds(5)), at: .seconds(10))
        let ticket = try #require(p.tickets.first)
        #expect(ticket.slot == t0 + .seconds(10))
        #expect(ticket.notBefore == ticket.slot + ticket.id.jitter(below: .seconds(5)))
        #expect(ticket.notBefore >= ticket.slot && ticket.notBefore < ticket.slot + .seconds(5))
        #expect(ticket.deadline == ticket.slot + .seconds(60))
    }

    @Test func aOneOffCompletesAfterItsSlot() throws {
        let spec = JobSpec(name: "once", schedule: ScheduleSpec(.at(t0 + .seconds(30))), action: .noop)
        let job = Job(id: JobID(rawValue: "o"), revision: 1, spec: spec, state: .active, createdAt: t0, updatedAt: t0, watermark: t0, nextFireAt: t0 + .seconds(30))
        let p = TickPlanner.plan(job: job, schedule: try Schedule(spec.schedule, createdAt: t0), hasUnfinished: false, now: t0 + .seconds(30), lookahead: .zero)
        #expect(p.tickets.count == 1)
        #expect(p.state == .completed)
        #expect(p.dueAt == nil)
    }

    @Test func pausedJobsGetNothing() {
        var (job, schedule) = job(policy: JobPolicy())
        job.state = .paused
        let p = TickPlanner.plan(job: job, schedule: schedule, hasUnfinished: false, now: t0 + .seconds(100), lookahead: .zero)
        #expect(p.tickets.isEmpty)
        #expect(p.dueAt == nil)
    }
}
