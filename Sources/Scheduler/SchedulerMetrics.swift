import BatonStore
import Metrics

/// The scheduler's metrics. Labels stay bounded: no per-job or per-ticket labels (CONTRACT §9a) unless
/// `BATON_METRICS_JOB_LABELS=true`, which adds a `job` label to the tickets written and skipped.
struct SchedulerMetrics: Sendable {
    /// Unlabelled totals, made only without job labels: a Prometheus family is either unlabelled or labelled, and
    /// registering both kinds under one name stops the process.
    let ticketsWritten: Counter?
    let ticketsSkipped: Counter?
    /// Skipped slots beyond the 100 recorded per catch-up (CONTRACT §4).
    let skipsUnrecorded: Counter?
    let ticketsDispatched: Counter
    let redelivered: Counter
    let wireRejected: Counter
    let sendFailures: Counter
    /// CURVE handshakes refused by the dispatch allow list.
    let handshakesRefused: Counter
    /// Executors suspended for leaving offers unclaimed for BATON_REDELIVER_AFTER.
    let peersSuspended: Counter
    let tickLag: Timer
    let isLeader: Gauge
    let epoch: Gauge
    let leaseRenewFailures: Counter
    let leasesExpired: Counter
    let misfired: Counter
    let purged: Counter
    let revisionsPruned: Counter
    /// Jobs the leader cannot plan (stored spec unreadable or schedule not evaluable here), parked at their
    /// current revision; 0 on standbys. And how many times the tick parked one.
    let jobsParked: Gauge
    let jobsParkedTotal: Counter
    /// Whether the tick's counters carry the job's name as a label.
    let jobLabels: Bool
    let factory: any MetricsFactory

    init(jobLabels: Bool = false, factory: any MetricsFactory = MetricsSystem.factory) {
        self.jobLabels = jobLabels
        self.factory = factory
        ticketsWritten = jobLabels ? nil : Counter(label: "baton_tickets_written_total", factory: factory)
        ticketsSkipped = jobLabels ? nil : Counter(label: "baton_tickets_skipped_total", factory: factory)
        skipsUnrecorded = jobLabels ? nil : Counter(label: "baton_skips_unrecorded_total", factory: factory)
        ticketsDispatched = Counter(label: "baton_tickets_dispatched_total", factory: factory)
        redelivered = Counter(label: "baton_tickets_redelivered_total", factory: factory)
        wireRejected = Counter(label: "baton_wire_rejected_total", factory: factory)
        sendFailures = Counter(label: "baton_wire_send_failures_total", factory: factory)
        handshakesRefused = Counter(label: "baton_dispatch_handshakes_refused_total", factory: factory)
        peersSuspended = Counter(label: "baton_dispatch_peers_suspended_total", factory: factory)
        tickLag = Timer(label: "baton_tick_lag_seconds", factory: factory)
        isLeader = Gauge(label: "baton_scheduler_is_leader", factory: factory)
        epoch = Gauge(label: "baton_leader_epoch", factory: factory)
        leaseRenewFailures = Counter(label: "baton_lease_renew_failures_total", factory: factory)
        leasesExpired = Counter(label: "baton_claim_leases_expired_total", factory: factory)
        misfired = Counter(label: "baton_tickets_misfired_total", factory: factory)
        purged = Counter(label: "baton_tickets_purged_total", factory: factory)
        revisionsPruned = Counter(label: "baton_job_revisions_pruned_total", factory: factory)
        jobsParked = Gauge(label: "baton_jobs_parked", factory: factory)
        jobsParkedTotal = Counter(label: "baton_jobs_parked_total", factory: factory)
    }

    /// What one tick wrote: totals without labels, or one series per job when job labels are on.
    func recordTick(_ report: TickReport) {
        guard jobLabels else {
            ticketsWritten?.increment(by: report.written.count)
            ticketsSkipped?.increment(by: report.skipped)
            skipsUnrecorded?.increment(by: report.unrecordedSkips)
            return
        }
        for (job, counts) in report.byJob {
            let label = [("job", job)]
            if counts.written > 0 {
                Counter(label: "baton_tickets_written_total", dimensions: label, factory: factory).increment(by: counts.written)
            }
            if counts.skipped > 0 {
                Counter(label: "baton_tickets_skipped_total", dimensions: label, factory: factory).increment(by: counts.skipped)
            }
            if counts.unrecorded > 0 {
                Counter(label: "baton_skips_unrecorded_total", dimensions: label, factory: factory).increment(by: counts.unrecorded)
            }
        }
    }
}
