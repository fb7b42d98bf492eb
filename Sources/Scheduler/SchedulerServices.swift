import BatonCore
import BatonStore
import Logging
import ServiceLifecycle

/// Builds one scheduler process's services, in dependency order for a `ServiceGroup`
/// (which shuts them down in reverse: dispatch and sweeps stop before the lease is released).
public enum SchedulerServices {
    public static func make(
        configuration: SchedulerConfiguration, stores: Stores, clock: any WallClock = SystemWallClock(),
        logger: Logger
    ) throws -> [any Service] {
        let leadership = Leadership()
        let metrics = SchedulerMetrics(jobLabels: configuration.metricsJobLabels)
        var logger = logger
        logger[metadataKey: "scheduler"] = "\(configuration.id)"
        let store = stores.scheduler
        let nodes = stores.nodes
        let dispatcher = try Dispatcher(
            configuration: configuration, store: store, clock: clock, logger: logger, leadership: leadership, metrics: metrics)
        let elector = LeaderElector(
            configuration: configuration, leases: stores.leases, nodes: nodes, clock: clock, logger: logger,
            leadership: leadership, metrics: metrics,
            endpoint: { dispatcher.boundEndpoint.withLock { $0 } ?? configuration.dispatchBind })
        let maintenance = Maintenance(
            configuration: configuration, store: store, nodes: nodes, clock: clock, logger: logger, leadership: leadership,
            metrics: metrics)
        let retention = HistoryRetention(
            configuration: configuration, store: stores.retention, clock: clock, logger: logger,
            leadership: leadership, metrics: metrics)
        return [elector, dispatcher, maintenance, retention]
    }
}
