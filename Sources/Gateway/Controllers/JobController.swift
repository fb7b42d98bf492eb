import BatonCore
import BatonStore
import Foundation
import HTTPTypes
import Hummingbird

/// `/v1/jobs`: create, list, read, replace, patch, delete, pause, resume, trigger, preview, explain.
struct JobController<Context: RequestContext> {
    let dependencies: GatewayDependencies

    func addRoutes(to group: RecordingGroup<Context>) {
        group
            .on(.post, use: create)
            .on(.get, use: list)
            .on(.get, ":name", use: get)
            .on(.put, ":name", use: put)
            .on(.patch, ":name", use: patch)
            .on(.delete, ":name", use: delete)
            .on(.post, ":name/pause", use: pause)
            .on(.post, ":name/resume", use: resume)
            .on(.post, ":name/trigger", use: trigger)
            .on(.get, ":name/schedule", use: schedule)
            .on(.get, ":name/explain", use: explain)
    }

    // MARK: CRUD

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let spec = try validate(try await request.jsonBody())
        let job = try await dependencies.jobs.create(spec, now: dependencies.clock.now())
        context.logger.info("job created", metadata: ["job": "\(job.name)", "revision": "\(job.revision)"])
        return try Self.jobResponse(job, status: .created, location: true)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        var query = QueryReader(request)
        let limit = query.integer("limit", default: 100, in: 1...1000)
        let paused = query.boolean("paused")
        let label = query.label("label")
        try query.check()
        let page = try await dependencies.jobs.list(limit: limit, after: query["cursor"], label: label.map { ($0.key, $0.value) }, paused: paused)
        return try JSONBody.response(ListResource(items: page.items.map(JobResource.init), nextCursor: page.nextCursor))
    }

    @Sendable func get(_ request: Request, context: Context) async throws -> Response {
        try Self.jobResponse(try await existing(context), status: .ok, cache: dependencies.jobBodies)
    }

    /// Create-or-replace. The body's `name` may be omitted; if given it must match the URL.
    @Sendable func put(_ request: Request, context: Context) async throws -> Response {
        let name = try Self.name(context)
        let condition = try RevisionCondition.from(request)
        var body = try await request.jsonBody()
        var nameIssue: FieldIssue?
        if case .object(var members) = body {
            switch members["name"] {
            case nil:
                members["name"] = .string(name)
                body = .object(members)
            case .string(let given) where given == name:
                break
            default:
                nameIssue = FieldIssue(field: "name", message: "must match the name in the URL (\(name))")
            }
        }
        let stored = try await dependencies.jobs.job(named: name)
        if condition == .exists, stored == nil {
            throw APIError(.preconditionFailed, "If-Match: * but no job named \"\(name)\" exists")
        }
        // A stand-in spec (stored one unreadable here) has no secrets to keep: `***` then stays as sent.
        let storedSpec = stored.flatMap { $0.parking?.specReadable ?? true ? $0.spec : nil }
        let spec = try validate(body, extra: nameIssue.map { [$0] } ?? []).restoringSecrets(from: storedSpec)
        let (job, created) = try await dependencies.jobs.put(spec, ifRevision: condition.revision, now: dependencies.clock.now())
        context.logger.info(created ? "job created" : "job replaced", metadata: ["job": "\(job.name)", "revision": "\(job.revision)"])
        return try Self.jobResponse(job, status: created ? .created : .ok, location: created)
    }

    /// RFC 7396 merge patch onto the stored spec as GET shows it (secrets masked), then full validation and
    /// the PUT rule for masked secrets: a patch that moves the action to another target must give its
    /// secrets again, instead of silently carrying the stored ones along.
    /// Without `If-Match` the write is still conditional on the revision that was read, retried on a race,
    /// so two concurrent patches never lose each other's changes.
    @Sendable func patch(_ request: Request, context: Context) async throws -> Response {
        let name = try Self.name(context)
        let condition = try RevisionCondition.from(request)
        let patch = try await request.jsonBody()
        for _ in 0..<5 {
            let stored = try await existing(context)
            try JobOperations.requireReadableSpec(stored, for: "patched")
            let merged = try Self.tree(of: stored.spec.redacted).merging(patch: patch)
            var extra: [FieldIssue] = []
            if case .object(let members) = merged, members["name"] != .string(name) {
                extra.append(FieldIssue(field: "name", message: "cannot be changed; create a new job instead"))
            }
            let spec = try validate(merged, extra: extra).restoringSecrets(from: stored.spec)
            do {
                let (job, _) = try await dependencies.jobs.put(
                    spec, ifRevision: condition.revision ?? stored.revision, now: dependencies.clock.now())
                context.logger.info("job patched", metadata: ["job": "\(job.name)", "revision": "\(job.revision)"])
                return try Self.jobResponse(job, status: .ok)
            } catch let error as StoreError where error.code == .revisionMismatch && condition.revision == nil {
                continue
            }
        }
        throw APIError(.conflict, "job \"\(name)\" kept changing while it was being patched; retry")
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        let name = try Self.name(context)
        let condition = try RevisionCondition.from(request)
        try await operations(context).delete(name: name, ifRevision: condition.revision)
        return Response(status: .noContent)
    }

    @Sendable func pause(_ request: Request, context: Context) async throws -> Response {
        try await setPaused(true, request, context)
    }

    @Sendable func resume(_ request: Request, context: Context) async throws -> Response {
        try await setPaused(false, request, context)
    }

    func setPaused(_ paused: Bool, _ request: Request, _ context: Context) async throws -> Response {
        let name = try Self.name(context)
        let condition = try RevisionCondition.from(request)
        let job = try await operations(context).setPaused(paused, name: name, ifRevision: condition.revision)
        return try Self.jobResponse(job, status: .ok)
    }

    // MARK: Trigger

    /// 202 with a new manual ticket, or 200 with the ticket an earlier request with the same
    /// `Idempotency-Key` created. The job's existence is decided in the transaction that writes the ticket.
    @Sendable func trigger(_ request: Request, context: Context) async throws -> Response {
        let name = try Self.name(context)
        let key = try JobOperations.idempotencyKey(request.headers[HTTPField.Name("Idempotency-Key")!], field: "Idempotency-Key")
        let (ticket, created) = try await operations(context).trigger(name: name, idempotencyKey: key)
        return try JSONBody.response(
            TicketResource(ticket: ticket, includeAttempts: true), status: created ? .accepted : .ok,
            headers: ["Location": "/v1/tickets/\(ticket.id.hex)"])
    }

    // MARK: Preview and explain

    /// The next `count` (default 10, at most 1000) slots strictly after `from` (default now).
    @Sendable func schedule(_ request: Request, context: Context) async throws -> Response {
        var query = QueryReader(request)
        let count = query.integer("count", default: 10, in: 1...1000)
        let from = query.timestamp("from")
        try query.check()
        let job = try await existing(context)
        return try JSONBody.response(JobOperations.preview(job, count: count, after: from ?? dependencies.clock.now()))
    }

    @Sendable func explain(_ request: Request, context: Context) async throws -> Response {
        var query = QueryReader(request)
        let at = query.timestamp("at")
        try query.check()
        let job = try await existing(context)
        let explanation = try await SlotExplainer(
            job: job, schedule: try JobOperations.resolve(job), tickets: dependencies.tickets, now: dependencies.clock.now()
        ).explain(at: at ?? dependencies.clock.now())
        return try JSONBody.response(explanation)
    }

    // MARK: Helpers

    /// Full validation of a spec document, plus the gateway's own rules (commands opt-in).
    func validate(_ tree: JSONValue, extra: [FieldIssue] = []) throws -> JobSpec {
        var issues: [FieldIssue] = extra
        var spec: JobSpec?
        do {
            spec = try JobSpec.parse(tree)
        } catch {
            issues = error.issues + extra
        }
        if !dependencies.allowCommands, case .object(let members) = tree, case .object(let action)? = members["action"],
            action["command"] != nil
        {
            issues.append(
                FieldIssue(
                    field: "action.command",
                    message: "command jobs are disabled on this gateway (set BATON_ALLOW_COMMANDS=true to allow them)"))
        }
        guard issues.isEmpty, let spec else { throw APIError.validation(issues) }
        return spec
    }

    func existing(_ context: Context) async throws -> Job {
        try await operations(context).existing(try Self.name(context))
    }

    func operations(_ context: Context) -> JobOperations {
        JobOperations(dependencies: dependencies, logger: context.logger)
    }

    static func name(_ context: Context) throws(APIError) -> String {
        guard let name = context.parameters.get("name"), JobSpec.isValidName(name) else {
            throw APIError(.notFound, "no such job")
        }
        return name
    }

    /// The canonical spec as a JSON tree, the base a merge patch applies to.
    static func tree(of spec: JobSpec) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONBody.encoder().encode(spec))
    }

    static func jobResponse(
        _ job: Job, status: HTTPResponse.Status, location: Bool = false, cache: JobBodyCache? = nil
    ) throws -> Response {
        var headers = ["ETag": ETag.header(job.revision)]
        if location { headers["Location"] = "/v1/jobs/\(job.name)" }
        guard let cache else { return try JSONBody.response(JobResource(job: job), status: status, headers: headers) }
        let body = try cache.body(for: job) { job in ByteBuffer(bytes: try JSONBody.encoder().encode(JobResource(job: job))) }
        return try JSONBody.response(body: body, status: status, headers: headers)
    }
}
