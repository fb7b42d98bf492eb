import Metrics

/// The scheduler's metrics. Labels stay bounded: no per-job or per-ticket labels (CONTRACT §9a).
struct SchedulerMetrics: Sendable {
    let ticketsWritten = Counter(label: "baton_tickets_written_total")
    let ticketsSkipped = Counter(label: "baton_tickets_skipped_total")
    /// Skipped slots beyond the 100 recorded per catch-up (CONTRACT §4).
    let skipsUnrecorded = Counter(label: "baton_skips_unrecorded_total")
    let ticketsDispatched = Counter(label: "baton_tickets_dispatched_total")
    let redelivered = Counter(label: "baton_tickets_redelivered_total")
    let wireRejected = Counter(label: "baton_wire_rejected_total")
    let sendFailures = Counter(label: "baton_wire_send_failures_total")
    let tickLag = Timer(label: "baton_tick_lag_seconds")
    let isLeader = Gauge(label: "baton_scheduler_is_leader")
    let epoch = Gauge(label: "baton_leader_epoch")
    let leaseRenewFailures = Counter(label: "baton_lease_renew_failures_total")
    let leasesExpired = Counter(label: "baton_claim_leases_expired_total")
    let misfired = Counter(label: "baton_tickets_misfired_total")
    let purged = Counter(label: "baton_tickets_purged_total")
    /// Jobs the leader cannot plan (stored spec unreadable or schedule not evaluable here), parked at their
    /// current revision; 0 on standbys. And how many times the tick parked one.
    let jobsParked = Gauge(label: "baton_jobs_parked")
    let jobsParkedTotal = Counter(label: "baton_jobs_parked_total")
}
