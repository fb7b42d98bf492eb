import BatonCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import Gateway

/// The web console (issue 15, Docs/Console.md) through the same router the API uses.
@Suite("Console")
struct ConsoleTests {
    // MARK: Sign-in

    @Test("a wrong token shows the form again with an error and sets no cookie")
    func wrongToken() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let reply = try await client.console(.post, "/console/session", form: ["token": "nope"])
            #expect(reply.status == .forbidden)
            #expect(reply.text.contains("That token is not valid."))
            #expect(reply.header("Set-Cookie") == nil)
        }
    }

    @Test("the right token sets an HttpOnly, SameSite=Strict, Path=/ cookie; Secure only behind HTTPS")
    func rightToken() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let reply = try await client.console(.post, "/console/session", form: ["token": GatewayFixture.token])
            #expect(reply.status == .seeOther)
            #expect(reply.header("Location") == "/console")
            let cookie = try #require(reply.header("Set-Cookie"))
            let parts = cookie.components(separatedBy: "; ")
            #expect(parts.count == 5)
            #expect(parts[0].hasPrefix("baton_session=") && parts[0].count == "baton_session=".count + 64)
            #expect(Set(parts.dropFirst()) == ["Path=/", "Max-Age=43200", "HttpOnly", "SameSite=Strict"])

            let proxied = try await client.console(
                .post, "/console/session", form: ["token": GatewayFixture.token], headers: ["X-Forwarded-Proto": "https"])
            #expect(proxied.header("Set-Cookie")?.hasSuffix("; HttpOnly; SameSite=Strict; Secure") == true)
        }
    }

    @Test("pages without a session send the browser to sign in; / shows the form")
    func pagesNeedASession() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            for path in ["/console", "/console/jobs/t", "/console/cron", "/console/jobs/t/delete"] {
                let reply = try await client.console(.get, path, session: nil)
                #expect(reply.status == .seeOther, "\(path)")
                #expect(reply.header("Location") == "/", "\(path)")
            }
            let stale = try await client.console(.get, "/console", session: String(repeating: "0", count: 64))
            #expect(stale.status == .seeOther)
            let home = try await client.console(.get, "/", session: nil)
            #expect(home.status == .ok)
            #expect(home.text.contains(#"<form method="post" action="/console/session""#))
        }
    }

    @Test("sign-out needs the CSRF token, ends the session and clears the cookie")
    func signOut() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let session = try await client.signIn()
            let csrf = try await client.csrf(session, page: "/console")
            #expect(try await client.console(.post, "/console/session/delete", session: session, form: [:]).status == .forbidden)
            let reply = try await client.console(.post, "/console/session/delete", session: session, form: ["csrf": csrf])
            #expect(reply.status == .seeOther)
            #expect(reply.header("Set-Cookie")?.hasPrefix("baton_session=; Path=/; Max-Age=0") == true)
            #expect(try await client.console(.get, "/console", session: session).status == .seeOther)
        }
    }

    // MARK: Jobs page

    @Test("the jobs page lists jobs with their schedule in words, and escapes names and labels")
    func jobsPage() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("alpha", extra: #", "labels": {"team": "<script>alert(1)</script>"}"#))
            _ = try await client.send(
                .post, "/v1/jobs",
                json: #"{"name": "nightly", "schedule": {"cron": "30 2 * * 1-5", "timezone": "Europe/Berlin"}, "action": {"noop": {}}, "queue": "reports"}"#)
            _ = try await client.send(.post, "/v1/jobs/nightly/pause")
            let session = try await client.signIn()
            let page = try await client.console(.get, "/console", session: session)
            #expect(page.status == .ok)
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            #expect(page.text.contains(#"<a href="/console/jobs/alpha">alpha</a>"#))
            #expect(page.text.contains("team=&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!page.text.contains("<script"))
            #expect(page.text.contains("at 02:30 on Monday to Friday"))
            #expect(page.text.contains("Europe/Berlin"))
            #expect(page.text.contains("every 1m"))

            let paused = try await client.console(.get, "/console?state=paused&name=&queue=&label=", session: session)
            #expect(paused.text.contains("/console/jobs/nightly"))
            #expect(!paused.text.contains("/console/jobs/alpha"))
            let queue = try await client.console(.get, "/console?queue=reports", session: session)
            #expect(queue.text.contains("/console/jobs/nightly") && !queue.text.contains("/console/jobs/alpha"))
            let label = try await client.console(.get, "/console?label=team:%3Cscript%3Ealert(1)%3C/script%3E", session: session)
            #expect(label.text.contains("/console/jobs/alpha") && !label.text.contains("/console/jobs/nightly"))
            let prefix = try await client.console(.get, "/console?name=nig", session: session)
            #expect(prefix.text.contains("/console/jobs/nightly") && !prefix.text.contains("/console/jobs/alpha"))

            let bad = try await client.console(.get, "/console?state=sleepy&name=No%20Such", session: session)
            #expect(bad.status == .unprocessableContent)
            #expect(bad.text.contains("<strong>state</strong>") && bad.text.contains("<strong>name</strong>"))
        }
    }

    @Test("the jobs page pages through the API's cursor, filters kept")
    func pagination() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            for index in 0..<(ConsoleJobFilter.pageSize + 5) {
                _ = try await client.send(.post, "/v1/jobs", json: Specs.every(String(format: "job-%03d", index)))
            }
            let session = try await client.signIn()
            let first = try await client.console(.get, "/console?name=job-", session: session)
            #expect(first.text.contains("/console/jobs/job-000") && first.text.contains("/console/jobs/job-049"))
            #expect(!first.text.contains("/console/jobs/job-050"))
            #expect(first.text.contains(#"href="/console?name=job-&amp;cursor=job-049""#))
            let second = try await client.console(.get, "/console?name=job-&cursor=job-049", session: session)
            #expect(second.text.contains("/console/jobs/job-050") && second.text.contains("/console/jobs/job-054"))
            #expect(!second.text.contains("/console/jobs/job-049"))
            #expect(!second.text.contains(#"rel="next""#))
        }
    }

    // MARK: Job page and actions

    @Test("a job's page shows secrets as ***, its next fires and tickets, and the actions")
    func jobPage() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(
                .post, "/v1/jobs", json: Specs.http("hooked", headers: #"{"Authorization": "Bearer s3cret-value", "X-Api-Key": "k-123", "X-Trace": "visible"}"#))
            _ = try await client.send(.post, "/v1/jobs/hooked/trigger")
            let session = try await client.signIn()
            let page = try await client.console(.get, "/console/jobs/hooked", session: session)
            #expect(page.status == .ok)
            #expect(!page.text.contains("s3cret-value") && !page.text.contains("k-123"))
            #expect(page.text.contains("&quot;Authorization&quot; : &quot;***&quot;"))
            #expect(page.text.contains("visible"))
            #expect(page.text.contains("Run now") && page.text.contains("/console/jobs/hooked/pause"))
            #expect(page.text.contains("manual"))
            #expect(page.text.components(separatedBy: "<li><time").count - 1 == 5)
            #expect(try await client.console(.get, "/console/jobs/missing", session: session).status == .notFound)
            #expect(try await client.console(.get, "/console/jobs/Not%20A%20Name", session: session).status == .notFound)
        }
    }

    @Test("a parked job whose spec this gateway cannot read is listed and shown with its reason, never a 500")
    func parkedJob() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("broken"))
            try ParkedJobsAPITests.storeRawSpec(#"{"name":"broken","schedule":"#, name: "broken", in: fixture)
            let session = try await client.signIn()
            let list = try await client.console(.get, "/console?state=parked", session: session)
            #expect(list.status == .ok)
            #expect(list.text.contains("/console/jobs/broken") && list.text.contains("unreadable (parked)"))
            let page = try await client.console(.get, "/console/jobs/broken", session: session)
            #expect(page.status == .ok)
            #expect(page.text.contains("Parked: ") && page.text.contains("is not valid JSON"))
            #expect(page.text.contains("cannot be previewed or explained"))
        }
    }

    @Test("Run now twice with the same form key writes one ticket")
    func runNowOnce() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("t"))
            let session = try await client.signIn()
            let page = try await client.console(.get, "/console/jobs/t", session: session)
            let form = ["csrf": try page.field("csrf"), "key": try page.field("key")]
            for _ in 0..<2 {
                let reply = try await client.console(.post, "/console/jobs/t/trigger", session: session, form: form)
                #expect(reply.status == .seeOther)
                #expect(reply.header("Location") == "/console/jobs/t?done=triggered")
            }
            #expect(try await client.send(.get, "/v1/tickets?job=t").items.count == 1)
            let again = try await client.console(.get, "/console/jobs/t", session: session)
            #expect(try again.field("key") != form["key"])
        }
    }

    @Test("pause, resume and delete (after its confirmation page) change the job")
    func actions() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("t"))
            let session = try await client.signIn()
            let csrf = try await client.csrf(session, page: "/console/jobs/t")
            #expect(try await client.console(.post, "/console/jobs/t/pause", session: session, form: ["csrf": csrf]).status == .seeOther)
            #expect(try await client.send(.get, "/v1/jobs/t").string("state") == "paused")
            let paused = try await client.console(.get, "/console/jobs/t?done=paused", session: session)
            #expect(paused.text.contains("/console/jobs/t/resume") && !paused.text.contains("/console/jobs/t/pause\""))
            #expect(try await client.console(.post, "/console/jobs/t/resume", session: session, form: ["csrf": csrf]).status == .seeOther)
            #expect(try await client.send(.get, "/v1/jobs/t").string("state") == "active")

            let confirm = try await client.console(.get, "/console/jobs/t/delete", session: session)
            #expect(confirm.status == .ok)
            #expect(confirm.text.contains(#"action="/console/jobs/t/delete""#))
            let deleted = try await client.console(.post, "/console/jobs/t/delete", session: session, form: ["csrf": csrf])
            #expect(deleted.header("Location") == "/console?done=deleted")
            #expect(try await client.send(.get, "/v1/jobs/t").status == .notFound)
        }
    }

    @Test("a POST without the CSRF token, with another one, or from another origin is refused and changes nothing")
    func forgedPosts() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("t"))
            let session = try await client.signIn()
            let csrf = try await client.csrf(session, page: "/console/jobs/t")
            let other = try await client.signIn()
            let othersCSRF = try await client.csrf(other, page: "/console")
            let forged: [(form: [String: String], headers: [String: String])] = [
                ([:], [:]), (["csrf": ""], [:]), (["csrf": String(csrf.reversed())], [:]), (["csrf": othersCSRF], [:]),
                (["csrf": csrf], ["Origin": "http://evil.example"]), (["csrf": csrf], ["Sec-Fetch-Site": "cross-site"]),
            ]
            for (form, headers) in forged {
                for action in ["pause", "trigger", "delete"] {
                    let reply = try await client.console(
                        .post, "/console/jobs/t/\(action)", session: session, form: form.merging(["key": "k"]) { a, _ in a }, headers: headers)
                    #expect(reply.status == .forbidden, "\(action) \(form) \(headers)")
                    #expect(reply.header("Content-Type") == "text/html; charset=utf-8")
                }
            }
            #expect(try await client.send(.get, "/v1/jobs/t").string("state") == "active")
            #expect(try await client.send(.get, "/v1/tickets?job=t").items.isEmpty)
            let json = try await client.console(
                .post, "/console/jobs/t/pause", session: session, form: nil, headers: ["Content-Type": "application/json"])
            #expect(json.status == .unsupportedMediaType)
        }
    }

    // MARK: Read-only token

    @Test("a read-only session sees no action and its forged POSTs are 403")
    func readOnlySession() async throws {
        let fixture = try GatewayFixture(readToken: GatewayFixture.readToken)
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("t"))
            let session = try await client.signIn(token: GatewayFixture.readToken)
            let page = try await client.console(.get, "/console/jobs/t", session: session)
            #expect(page.status == .ok)
            #expect(page.text.contains("read-only"))
            for action in ["trigger", "pause", "resume", "delete"] { #expect(!page.text.contains("/console/jobs/t/\(action)"), "\(action)") }
            #expect(!page.text.contains("Run now"))
            let csrf = try page.field("csrf")  // the sign-out form's
            for action in ["trigger", "pause", "delete"] {
                let reply = try await client.console(.post, "/console/jobs/t/\(action)", session: session, form: ["csrf": csrf, "key": "k"])
                #expect(reply.status == .forbidden, "\(action)")
            }
            #expect(try await client.console(.get, "/console/jobs/t/delete", session: session).status == .forbidden)
            #expect(try await client.send(.get, "/v1/jobs/t").string("state") == "active")
            #expect(try await client.send(.get, "/v1/tickets?job=t").items.isEmpty)
            #expect(try await client.console(.get, "/console/cron?expr=0%203%20*%20*%20*", session: session).status == .ok)
        }
    }

    @Test("the API takes the read token for GET and HEAD only: 403 read-only otherwise")
    func readOnlyAPI() async throws {
        let fixture = try GatewayFixture(readToken: GatewayFixture.readToken)
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("t"))
            #expect(try await client.send(.get, "/v1/jobs/t", token: GatewayFixture.readToken).status == .ok)
            // HEAD passes the token check as with the full token (the router then answers what it answers to HEAD).
            let head = try await client.send(.head, "/v1/jobs", token: GatewayFixture.readToken).status
            #expect(head == (try await client.send(.head, "/v1/jobs").status))
            #expect(head != .forbidden && head != .unauthorized)
            for (method, path) in [(HTTPRequest.Method.post, "/v1/jobs/t/trigger"), (.delete, "/v1/jobs/t"), (.post, "/v1/jobs/t/pause")] {
                let reply = try await client.send(method, path, token: GatewayFixture.readToken)
                #expect(reply.status == .forbidden, "\(method) \(path)")
                #expect(reply.string("type") == "urn:baton:problem:read-only")
            }
            #expect(try await client.send(.post, "/v1/jobs/t/trigger", token: "wrong").status == .unauthorized)
            #expect(try await client.send(.get, "/v1/tickets?job=t").items.isEmpty)
            #expect(try await client.send(.get, "/v1/jobs/t").string("state") == "active")
        }
    }

    @Test("the read token needs the full token and must differ from it")
    func readTokenConfiguration() throws {
        #expect(throws: GatewayConfigurationError.self) { try GatewayConfiguration(apiReadToken: "r").validate() }
        #expect(throws: GatewayConfigurationError.self) { try GatewayConfiguration(apiToken: "t", apiReadToken: "t").validate() }
        #expect(throws: GatewayConfigurationError.self) { try GatewayConfiguration(apiToken: "t", apiReadToken: "r r").validate() }
        try GatewayConfiguration(apiToken: "t", apiReadToken: "r").validate()
    }

    @Test("without a token configured (loopback), / opens a full session at once")
    func noToken() async throws {
        let fixture = try GatewayFixture(token: nil)
        try await fixture.test { client in
            let reply = try await client.console(.get, "/", session: nil)
            #expect(reply.status == .seeOther)
            #expect(reply.header("Set-Cookie")?.hasPrefix("baton_session=") == true)
        }
    }

    // MARK: Cron page

    @Test("the cron page previews an expression, or names the bad field")
    func cronPage() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let session = try await client.signIn()
            let empty = try await client.console(.get, "/console/cron", session: session)
            #expect(empty.status == .ok && empty.text.contains(#"<label for="expr">"#))
            let good = try await client.console(.get, "/console/cron?expr=30%202%20*%20*%20*&tz=America/New_York", session: session)
            #expect(good.status == .ok)
            #expect(good.text.components(separatedBy: "<li><time").count - 1 == 10)
            #expect(good.text.contains("02:30:00-0"))
            let bad = try await client.console(.get, "/console/cron?expr=61%20*%20*%20*%20*&tz=Mars/Base", session: session)
            #expect(bad.status == .unprocessableContent)
            #expect(bad.text.contains("<strong>expr</strong>") && bad.text.contains("<strong>tz</strong>"))
            #expect(bad.text.contains(#"value="61 * * * *""#))
        }
    }

    // MARK: Headers and assets

    @Test("every console response carries the CSP, nosniff and no-referrer headers, errors and redirects included")
    func securityHeaders() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/jobs", json: Specs.every("t"))
            let session = try await client.signIn()
            let csrf = try await client.csrf(session, page: "/console")
            let replies = [
                try await client.console(.get, "/", session: nil),
                try await client.console(.get, "/console", session: nil),
                try await client.console(.get, "/console", session: session),
                try await client.console(.get, "/console/jobs/t", session: session),
                try await client.console(.get, "/console/jobs/none", session: session),
                try await client.console(.get, "/console/nothing-here", session: session),
                try await client.console(.get, "/console/cron?expr=x", session: session),
                try await client.console(.post, "/console/jobs/t/pause", session: session, form: ["csrf": csrf], headers: ["Origin": "http://evil"]),
                try await client.console(.get, "/console", session: session, headers: ["Host": "evil.example"]),
                try await client.console(.post, "/console/session", form: ["token": "x"]),
                try await client.console(.get, ConsoleAssets.stylesheetPath, session: nil),
            ]
            for reply in replies {
                #expect(reply.header("Content-Security-Policy") == "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
                #expect(reply.header("X-Content-Type-Options") == "nosniff")
                #expect(reply.header("Referrer-Policy") == "no-referrer")
            }
            #expect(replies[8].status == .forbidden)
            #expect(replies[2].header("Cache-Control") == "no-store")
            #expect(!replies[2].text.contains("<script") && !replies[2].text.contains("style="))
            // The API keeps its own answers: JSON problems, no console headers.
            let api = try await client.send(.get, "/v1/jobs/none")
            #expect(api.header("Content-Type") == "application/problem+json" && api.header("Content-Security-Policy") == nil)
        }
    }

    @Test("the stylesheet has a versioned path, a year's caching, and an ETag that answers 304")
    func stylesheet() async throws {
        let fixture = try GatewayFixture()
        try await fixture.test { client in
            let css = try await client.console(.get, ConsoleAssets.stylesheetPath, session: nil)
            #expect(css.status == .ok)
            #expect(css.header("Content-Type") == "text/css; charset=utf-8")
            #expect(css.header("Cache-Control") == "public, max-age=31536000, immutable")
            let etag = try #require(css.header("ETag"))
            let again = try await client.console(.get, ConsoleAssets.stylesheetPath, session: nil, headers: ["If-None-Match": etag])
            #expect(again.status == .notModified)
            #expect(try await client.console(.get, "/console/assets/other.css", session: nil).status == .notFound)
            let session = try await client.signIn()
            #expect(try await client.console(.get, "/console", session: session).text.contains(ConsoleAssets.stylesheetPath))
        }
    }

    // MARK: Pieces

    @Test("sessions are bounded and expire")
    func sessionsBounded() {
        let sessions = ConsoleSessions(capacity: 2)
        let t0 = GatewayFixture.t0
        let first = sessions.open(role: .full, now: t0)
        _ = sessions.open(role: .readOnly, now: t0 + .seconds(1))
        let third = sessions.open(role: .full, now: t0 + .seconds(2))
        #expect(sessions.count == 2)
        #expect(sessions.session(id: first.id, now: t0 + .seconds(3)) == nil)
        #expect(sessions.session(id: third.id, now: t0 + .seconds(3)) == third)
        #expect(sessions.session(id: third.id, now: third.expiresAt) == nil)
        #expect(first.csrf != first.id && first.csrf.count == 64)
    }

    @Test(
        "schedules in words",
        arguments: [
            ("* * * * *", "every minute"), ("*/15 * * * *", "every 15 minutes"), ("0 * * * *", "every hour, on the hour"),
            ("5 * * * *", "every hour at minute 5"), ("30 2 * * *", "every day at 02:30"), ("0 9 * * 1-5", "at 09:00 on Monday to Friday"),
            ("0 9 * * 1,3", "at 09:00 on Monday and Wednesday"), ("0 0 1 * *", "at 00:00 on day 1 of every month"),
            ("@daily", "every day at 00:00"), ("0 30 2 * * *", "every day at 02:30"), ("0 */6 * * *", "every 6 hours at minute 0"),
            ("0 0 1 1 *", nil), ("15 30 2 * * *", nil), ("0 9 1 * 1", nil), ("+5 * * * *", nil),
        ] as [(String, String?)])
    func words(expression: String, expected: String?) {
        #expect(ScheduleWords.cron(expression) == expected)
    }

    @Test("templates: each one parses, and none uses triple braces")
    func templates() throws {
        _ = try ConsolePages()
        for (name, text) in ConsoleTemplates.all {
            #expect(!text.contains("{{{") && !text.contains("{{&"), "\(name)")
            #expect(!text.contains("<script") && !text.contains("style="), "\(name)")
        }
    }

    @Test("forms: urlencoded fields decoded, the first of a repeated field counts, bad escapes are 400")
    func formParsing() throws {
        let form = try ConsoleForm.parse("a=1+2&b=%3Cx%3E&a=3&c")
        #expect(form["a"] == "1 2" && form["b"] == "<x>" && form["c"] == "")
        #expect(throws: APIError.self) { try ConsoleForm.parse("a=%zz") }
    }
}

extension Reply {
    /// The value of the first hidden field named `name` in this page.
    func field(_ name: String) throws -> String {
        let marker = #"name="\#(name)" value=""#
        let start = try #require(text.range(of: marker), "no field \(name)")
        let rest = text[start.upperBound...]
        return String(rest[..<(try #require(rest.firstIndex(of: "\"")))])
    }
}

extension TestClientProtocol {
    /// A browser-like request: the session cookie, an urlencoded form for POSTs, no bearer token.
    func console(
        _ method: HTTPRequest.Method, _ uri: String, session: String? = nil, form: [String: String]? = nil,
        headers extra: [String: String] = [:]
    ) async throws -> Reply {
        var headers: [String: String] = [:]
        if let session { headers["Cookie"] = "baton_session=\(session)" }
        var body: String?
        if let form {
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            body = form.sorted { $0.key < $1.key }.map {
                "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
            }.joined(separator: "&")
        }
        headers.merge(extra) { _, new in new }
        return try await send(method, uri, json: body, token: nil, headers: headers, jsonContentType: false)
    }

    /// Signs in and answers the session id from the cookie.
    func signIn(token: String = GatewayFixture.token) async throws -> String {
        let reply = try await console(.post, "/console/session", form: ["token": token])
        let cookie = try #require(reply.header("Set-Cookie"))
        let pair = try #require(cookie.split(separator: ";").first)
        return String(pair.dropFirst("baton_session=".count))
    }

    func csrf(_ session: String, page: String) async throws -> String {
        try await console(.get, page, session: session).field("csrf")
    }
}
