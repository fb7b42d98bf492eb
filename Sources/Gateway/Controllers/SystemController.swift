import BatonCore
import BatonRuntime
import BatonStore
import Foundation
import Hummingbird

/// Health, metrics, the OpenAPI document, cluster views (`/v1/executors`, `/v1/scheduler`) and the cron previewer.
struct SystemController<Context: RequestContext> {
    let dependencies: GatewayDependencies

    func addRoutes(to group: RecordingGroup<Context>) {
        group
            .on(.get, "/healthz", use: health)
            .on(.get, "/readyz", use: ready)
            .on(.get, "/metrics", use: metrics)
            .on(.get, "/openapi.json", use: openAPI)
            .on(.get, "/v1/executors", use: executors)
            .on(.get, "/v1/scheduler", use: scheduler)
            .on(.get, "/v1/cron", use: cron)
    }

    struct Status: Encodable { var status: String }

    @Sendable func health(_ request: Request, context: Context) async throws -> Response {
        try JSONBody.response(Status(status: "ok"))
    }

    /// Ready when the database answers and every migration this binary knows is applied.
    @Sendable func ready(_ request: Request, context: Context) async throws -> Response {
        guard await dependencies.stores.health.isReady() else {
            throw APIError(
                .unavailable, "the database is unreachable or its schema is not current",
                headers: ["Retry-After": String(APIError.retryAfterSeconds)])
        }
        return try JSONBody.response(Status(status: "ready"))
    }

    @Sendable func metrics(_ request: Request, context: Context) async throws -> Response {
        try MetricsText(registry: dependencies.registry).response(from: request, context: context)
    }

    @Sendable func openAPI(_ request: Request, context: Context) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
    }

    struct ExecutorResource: Encodable {
        var id: String
        var host: String
        var pid: Int
        var capacity: Int
        var inFlight: Int
        var queues: [String]
        var version: String
        var startedAt: Timestamp
        var lastSeen: Timestamp
    }

    /// Live executors by id, keyset-paginated like every list (`limit`, `cursor`).
    @Sendable func executors(_ request: Request, context: Context) async throws -> Response {
        var query = QueryReader(request)
        let limit = query.integer("limit", default: 100, in: 1...1000)
        try query.check()
        let since = dependencies.clock.now() - dependencies.nodeLiveness
        let page = try await dependencies.nodes.executors(seenSince: since, limit: limit, after: query["cursor"])
        let items = page.items.map {
            ExecutorResource(
                id: $0.id, host: $0.host, pid: $0.pid, capacity: $0.capacity, inFlight: $0.inFlight, queues: $0.queues,
                version: $0.version, startedAt: $0.startedAt, lastSeen: $0.lastSeen)
        }
        return try JSONBody.response(ListResource(items: items, nextCursor: page.nextCursor))
    }

    struct LeaderResource: Encodable {
        var id: String
        var host: String
        var pid: Int
        var endpoint: String
        var epoch: Int64
        var leaseExpiresAt: Timestamp
    }

    struct StandbyResource: Encodable {
        var id: String
        var host: String
        var pid: Int
        var endpoint: String
        var lastSeen: Timestamp
    }

    struct SchedulerView: Encodable {
        var leader: LeaderResource?
        var standbys: [StandbyResource]
        var tickLagMs: Int?

        enum CodingKeys: String, CodingKey { case leader, standbys, tickLagMs }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(leader, forKey: .leader)
            try container.encode(standbys, forKey: .standbys)
            try container.encode(tickLagMs, forKey: .tickLagMs)
        }
    }

    /// The leader comes from the lease row while it is unexpired; standbys are the other schedulers that
    /// heartbeated recently; the tick lag is what the leader last reported.
    @Sendable func scheduler(_ request: Request, context: Context) async throws -> Response {
        let now = dependencies.clock.now()
        let lease = try await dependencies.leases.current()
        let nodes = try await dependencies.nodes.schedulers(seenSince: now - dependencies.nodeLiveness)
        var view = SchedulerView(leader: nil, standbys: [], tickLagMs: nil)
        if let lease, lease.leaseExpiresAt > now {
            view.leader = LeaderResource(
                id: lease.holder, host: lease.host, pid: lease.pid, endpoint: lease.endpoint, epoch: lease.epoch,
                leaseExpiresAt: lease.leaseExpiresAt)
            view.tickLagMs = nodes.first { $0.id == lease.holder }?.tickLagMs
        }
        view.standbys = nodes.filter { $0.id != view.leader?.id }.map {
            StandbyResource(id: $0.id, host: $0.host, pid: $0.pid, endpoint: $0.endpoint, lastSeen: $0.lastSeen)
        }
        return try JSONBody.response(view)
    }

    /// Validates an expression and lists its next fires without a job (``CronPreview/read(_:now:)``).
    @Sendable func cron(_ request: Request, context: Context) async throws -> Response {
        var query = QueryReader(request)
        return try JSONBody.response(try CronPreview.read(&query, now: dependencies.clock.now()))
    }
}
