import BatonCore
import BatonStore
import Foundation
import HTTPTypes
import Hummingbird

/// The web console (Docs/Console.md): server-rendered pages at `/` and `/console/…` that read and change jobs
/// through the same store calls and helpers as the API (``JobOperations``, ``JobResource``, ``CronPreview``).
///
/// Sign-in trades the API token (or the read-only one) for a session cookie; every form that changes something
/// carries the session's CSRF token, and the gateway's Host and Origin rules hold here as for the API. Its
/// routes are not in the API's ``RouteTable``: that table is the API's, held to /openapi.json.
struct ConsoleController<Context: RequestContext> {
    let dependencies: GatewayDependencies

    func addRoutes(to group: RouterGroup<Context>) {
        group
            .get("/", use: home)
            .get("/console", use: jobs)
            .post("/console/session", use: signIn)
            .post("/console/session/delete", use: signOut)
            .get("/console/cron", use: cron)
            .get("/console/assets/:file", use: asset)
            .get("/console/jobs/:name", use: job)
            .post("/console/jobs/:name/trigger", use: trigger)
            .post("/console/jobs/:name/pause", use: pause)
            .post("/console/jobs/:name/resume", use: resume)
            .get("/console/jobs/:name/delete", use: confirmDelete)
            .post("/console/jobs/:name/delete", use: delete)
    }

    var pages: ConsolePages { dependencies.consolePages }
    var sessions: ConsoleSessions { dependencies.consoleSessions }

    // MARK: Session

    /// `/`: the jobs when signed in, else the sign-in form. A gateway without a token (loopback only) needs no
    /// sign-in, like its API: a full session is opened at once, so forms still get a CSRF token.
    @Sendable func home(_ request: Request, context: Context) async throws -> Response {
        if let session = session(request) { return try await jobsPage(request, session: session) }
        guard dependencies.tokens != nil else {
            let session = sessions.open(role: .full, now: dependencies.clock.now())
            return ConsoleHTTP.redirect("/console", setCookie: cookie(for: session, request))
        }
        return try pages.render("signin", ConsolePages.SignInPage(frame: .init(title: "Sign in"), error: nil))
    }

    /// The token is checked exactly as the API's bearer token is (``APITokens``, constant time). A wrong one
    /// shows the form again with an error, and no cookie.
    @Sendable func signIn(_ request: Request, context: Context) async throws -> Response {
        let form = try await ConsoleForm.read(request)
        let role: AccessRole?
        if let tokens = dependencies.tokens {
            role = tokens.role(of: (form["token"] ?? "").utf8)
        } else {
            role = .full
        }
        guard let role else {
            context.logger.notice("console sign-in refused")
            return try pages.render(
                "signin", ConsolePages.SignInPage(frame: .init(title: "Sign in"), error: "That token is not valid."), status: .forbidden)
        }
        if let old = request.cookies[ConsoleHTTP.cookieName]?.value { sessions.close(id: old) }
        let session = sessions.open(role: role, now: dependencies.clock.now())
        context.logger.info("console sign-in", metadata: ["role": "\(role.rawValue)"])
        return ConsoleHTTP.redirect("/console", setCookie: cookie(for: session, request))
    }

    @Sendable func signOut(_ request: Request, context: Context) async throws -> Response {
        guard let (session, _) = try await form(request, changes: false) else { return ConsoleHTTP.redirect("/") }
        sessions.close(id: session.id)
        return ConsoleHTTP.redirect("/", setCookie: ConsoleHTTP.clearedCookie(secure: ConsoleHTTP.isHTTPS(request)))
    }

    // MARK: Jobs

    @Sendable func jobs(_ request: Request, context: Context) async throws -> Response {
        guard let session = session(request) else { return ConsoleHTTP.redirect("/") }
        return try await jobsPage(request, session: session)
    }

    func jobsPage(_ request: Request, session: ConsoleSessions.Session) async throws -> Response {
        var query = QueryReader(request)
        let filter = ConsoleJobFilter.read(&query)
        var rows: [ConsolePages.JobRow] = []
        var next: String?
        if query.issues.isEmpty {
            let cursor = query["cursor"].flatMap { $0.isEmpty ? nil : $0 }
            let page = try await filter.page(after: cursor, in: dependencies.jobs)
            rows = page.jobs.map(Self.row)
            next = page.next.map { "/console?" + ConsoleHTTP.query(filter.queryItems + [("cursor", $0)]) }
        }
        let selected = filter.state?.rawValue ?? ""
        let states = [("", "any")] + JobState.allCases.map { ($0.rawValue, $0.rawValue) }
        let model = ConsolePages.JobsPage(
            frame: .init(title: "Jobs", session: session),
            notice: query["done"] == "deleted" ? "The job was deleted." : nil,
            filter: .init(
                name: query["name"] ?? "", queue: query["queue"] ?? "", label: query["label"] ?? "",
                states: states.map { .init(value: $0.0, title: $0.1, selected: $0.0 == selected) }),
            hasErrors: !query.issues.isEmpty, errors: query.issues.map { .init(field: $0.field, message: $0.message) },
            rows: rows, next: next)
        return try pages.render("jobs", model, status: query.issues.isEmpty ? .ok : .unprocessableContent)
    }

    static func row(_ job: Job) -> ConsolePages.JobRow {
        let zoneName = JobOperations.zoneName(job.spec.schedule)
        let schedule = describe(job)
        return ConsolePages.JobRow(
            name: job.name, href: "/console/jobs/\(job.name)", written: schedule.written, words: schedule.words, zone: zoneName,
            nextFire: job.nextFireAt.map { LocalTime.rfc3339($0, in: JobOperations.zone(named: zoneName)) },
            nextFireUTC: job.nextFireAt?.rfc3339, state: job.state.rawValue, queue: job.spec.queue,
            labels: job.spec.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }, outcome: outcome(job))
    }

    /// The schedule as the spec writes it.
    static func written(_ schedule: ScheduleSpec) -> String {
        switch schedule.kind {
        case .cron(let expression): expression
        case .every(let interval): "every \(interval)"
        case .at(let instant): "at \(instant.rfc3339)"
        }
    }

    /// The schedule as written, and in words when that says more (an interval is already words). A parked job
    /// whose spec this gateway cannot read has only a stand-in schedule, which is not shown.
    static func describe(_ job: Job) -> (written: String, words: String?) {
        guard job.parking?.specReadable ?? true else { return ("unreadable (parked)", nil) }
        let written = written(job.spec.schedule)
        let words = ScheduleWords.describe(job.spec.schedule)
        return (written, words == written ? nil : words)
    }

    /// The later of the last success and the last failure.
    static func outcome(_ job: Job) -> String? {
        switch (job.lastSuccessAt, job.lastFailureAt) {
        case (let success?, let failure?): success >= failure ? "succeeded \(success.rfc3339)" : "failed \(failure.rfc3339)"
        case (let success?, nil): "succeeded \(success.rfc3339)"
        case (nil, let failure?): "failed \(failure.rfc3339)"
        case (nil, nil): nil
        }
    }

    // MARK: One job

    @Sendable func job(_ request: Request, context: Context) async throws -> Response {
        guard let session = session(request) else { return ConsoleHTTP.redirect("/") }
        let name = try JobController<Context>.name(context)
        let job = try await operations(context).existing(name)
        let now = dependencies.clock.now()
        var fires: [ConsolePages.Fire] = []
        var firesNote: String?
        do {
            fires = try JobOperations.preview(job, count: 5, after: now).fires.map { .init(utc: $0.utc, local: $0.local) }
            if fires.isEmpty { firesNote = "The schedule has no more fires." }
        } catch {
            firesNote = error.detail
        }
        let tickets = try await dependencies.tickets.list(TicketFilter(jobName: name), limit: 20, cursor: nil)
        let encoder = JSONBody.encoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        let notices = ["triggered": "A ticket was written; the scheduler runs it next.", "paused": "Paused.", "resumed": "Resumed."]
        let schedule = Self.describe(job)
        let model = ConsolePages.JobPage(
            frame: .init(title: name, session: session), notice: query(request, "done").flatMap { notices[$0] },
            name: name, state: job.state.rawValue, parked: job.parking?.reason,
            written: schedule.written, words: schedule.words,
            zone: JobOperations.zoneName(job.spec.schedule), queue: job.spec.queue, revision: job.revision,
            actions: session.role == .full
                ? .init(
                    base: "/console/jobs/\(name)", csrf: session.csrf, runKey: "console-" + ConsoleSessions.randomHex(bytes: 16),
                    pausable: job.state != .paused, resumable: job.state == .paused) : nil,
            firesNote: firesNote, fires: fires, tickets: tickets.items.map(Self.row),
            spec: String(decoding: try encoder.encode(JobResource(job: job)), as: UTF8.self))
        return try pages.render("job", model)
    }

    static func row(_ ticket: Ticket) -> ConsolePages.TicketRow {
        ConsolePages.TicketRow(
            id: ticket.id.hex, shortID: String(ticket.id.hex.prefix(12)), slot: ticket.slot.rfc3339, state: ticket.state.rawValue,
            reason: ticket.reason?.rawValue, detail: ticket.detail, attempts: "\(ticket.attempt) of \(ticket.maxAttempts)",
            trigger: ticket.manual ? "manual" : "schedule")
    }

    /// Run now. The form's key was made when the page was rendered, so a double click (or a reload that posts
    /// again) finds the first click's ticket: the API's idempotent trigger, through the same path.
    @Sendable func trigger(_ request: Request, context: Context) async throws -> Response {
        let name = try JobController<Context>.name(context)
        guard let (_, form) = try await form(request, changes: true) else { return ConsoleHTTP.redirect("/") }
        guard let key = try JobOperations.idempotencyKey(form["key"], field: "key") else {
            throw APIError.invalid("key", "is required: reload the job's page and press Run now again")
        }
        _ = try await operations(context).trigger(name: name, idempotencyKey: key)
        return ConsoleHTTP.redirect("/console/jobs/\(name)?done=triggered")
    }

    @Sendable func pause(_ request: Request, context: Context) async throws -> Response {
        try await setPaused(true, request, context)
    }

    @Sendable func resume(_ request: Request, context: Context) async throws -> Response {
        try await setPaused(false, request, context)
    }

    func setPaused(_ paused: Bool, _ request: Request, _ context: Context) async throws -> Response {
        let name = try JobController<Context>.name(context)
        guard try await form(request, changes: true) != nil else { return ConsoleHTTP.redirect("/") }
        _ = try await operations(context).setPaused(paused, name: name, ifRevision: nil)
        return ConsoleHTTP.redirect("/console/jobs/\(name)?done=\(paused ? "paused" : "resumed")")
    }

    /// The confirmation step: a page with one form, so deleting takes two deliberate clicks and no script.
    @Sendable func confirmDelete(_ request: Request, context: Context) async throws -> Response {
        guard let session = session(request) else { return ConsoleHTTP.redirect("/") }
        try Self.requireChanges(session)
        let job = try await operations(context).existing(try JobController<Context>.name(context))
        return try pages.render(
            "delete",
            ConsolePages.DeletePage(
                frame: .init(title: "Delete \(job.name)", session: session), name: job.name, base: "/console/jobs/\(job.name)",
                csrf: session.csrf))
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        let name = try JobController<Context>.name(context)
        guard try await form(request, changes: true) != nil else { return ConsoleHTTP.redirect("/") }
        try await operations(context).delete(name: name, ifRevision: nil)
        return ConsoleHTTP.redirect("/console?done=deleted")
    }

    // MARK: Cron preview

    /// The API's cron preview (``CronPreview``) behind a form; its 422 errors are listed by field.
    @Sendable func cron(_ request: Request, context: Context) async throws -> Response {
        guard let session = session(request) else { return ConsoleHTTP.redirect("/") }
        var query = QueryReader(request)
        var model = ConsolePages.CronPage(
            frame: .init(title: "Cron preview", session: session), expr: query["expr"] ?? "", tz: query["tz"] ?? "UTC",
            hasErrors: false, errors: [], hasFires: false, fires: [])
        guard query["expr"] != nil else { return try pages.render("cron", model) }
        do {
            let preview = try CronPreview.read(&query, now: dependencies.clock.now())
            model.fires = preview.fires.map { .init(utc: $0.utc, local: $0.local) }
            model.hasFires = !model.fires.isEmpty
        } catch {
            let issues = error.errors.isEmpty ? [FieldIssue(field: "", message: error.detail)] : error.errors
            model.errors = issues.map { .init(field: $0.field, message: $0.message) }
            model.hasErrors = true
        }
        return try pages.render("cron", model, status: model.hasErrors ? .unprocessableContent : .ok)
    }

    // MARK: Assets

    /// The stylesheet at its versioned path, cacheable for a year; `If-None-Match` with its ETag is 304.
    @Sendable func asset(_ request: Request, context: Context) async throws -> Response {
        guard context.parameters.get("file") == ConsoleAssets.stylesheetFile else { throw APIError(.notFound, "no such file") }
        var headers: HTTPFields = [
            .eTag: ConsoleAssets.stylesheetETag, .cacheControl: "public, max-age=31536000, immutable",
        ]
        if request.headers[.ifNoneMatch] == ConsoleAssets.stylesheetETag { return Response(status: .notModified, headers: headers) }
        headers[.contentType] = "text/css; charset=utf-8"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: ConsoleAssets.stylesheet)))
    }

    // MARK: Helpers

    func session(_ request: Request) -> ConsoleSessions.Session? {
        guard let id = request.cookies[ConsoleHTTP.cookieName]?.value, !id.isEmpty else { return nil }
        return sessions.session(id: id, now: dependencies.clock.now())
    }

    /// The session and form of a state-changing request, or nil without a session (the caller sends the browser
    /// to sign in; nothing changes). A missing or wrong CSRF token is 403; so is a change asked by a read-only
    /// session (`changes`), which never sees the forms but may forge one.
    func form(_ request: Request, changes: Bool) async throws -> (ConsoleSessions.Session, ConsoleForm)? {
        guard let session = session(request) else { return nil }
        let form = try await ConsoleForm.read(request)
        guard let presented = form["csrf"], APITokens.constantTimeEqual(Array(presented.utf8), Array(session.csrf.utf8)) else {
            throw APIError(.crossSite, "the form's CSRF token is missing or is not this session's; reload the page and try again")
        }
        if changes { try Self.requireChanges(session) }
        return (session, form)
    }

    static func requireChanges(_ session: ConsoleSessions.Session) throws(APIError) {
        guard session.role == .full else {
            throw APIError(.readOnly, "this session signed in with the read-only token (BATON_API_READ_TOKEN); it cannot change jobs")
        }
    }

    func cookie(for session: ConsoleSessions.Session, _ request: Request) -> String {
        ConsoleHTTP.sessionCookie(session.id, maxAge: ConsoleSessions.lifetime.milliseconds / 1000, secure: ConsoleHTTP.isHTTPS(request))
    }

    func operations(_ context: Context) -> JobOperations {
        JobOperations(dependencies: dependencies, logger: context.logger)
    }

    func query(_ request: Request, _ name: String) -> String? {
        request.uri.queryParameters.get(name)
    }
}
