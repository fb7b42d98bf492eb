import Mustache

/// The console's HTML, as Mustache templates compiled once when the gateway is built.
///
/// Why string literals and not SwiftPM resources: a resource bundle is a directory that must travel next to the
/// binary (`Bundle.module` looks for it at run time), and the Dockerfile and `make install` ship one file. The
/// templates are small, and a test renders every one, so a typo fails the build's tests rather than a page.
///
/// Escaping: every value goes through `{{ }}`, which HTML-escapes `& < > " '`; no template uses `{{{ }}}`.
/// No inline script or style anywhere (the Content-Security-Policy forbids both).
enum ConsoleTemplates {
    static let all: [String: String] = [
        "head": head, "foot": foot, "signin": signIn, "jobs": jobs, "job": job, "delete": confirmDelete, "cron": cron,
        "error": error, "errors": fieldErrors, "fires": fireList,
    ]

    /// A 422's issues, one per field (`hasErrors`, `errors: [{field, message}]`).
    static let fieldErrors = """
        {{#hasErrors}}
        <ul class="error" role="alert">
        {{#errors}}<li><strong>{{field}}</strong> {{message}}</li>{{/errors}}
        </ul>
        {{/hasErrors}}

        """

    /// Fire instants in their zone, with UTC beside (`fires: [{utc, local}]`).
    static let fireList = """
        <ol class="fires">
        {{#fires}}<li><time datetime="{{utc}}">{{local}}</time> <span class="muted">({{utc}})</span></li>{{/fires}}
        </ol>

        """

    static let head = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{frame.title}} · Baton</title>
        <link rel="stylesheet" href="{{frame.stylesheet}}">
        </head>
        <body>
        <header class="top">
        <a class="brand" href="/console">Baton</a>
        {{#frame.signedIn}}
        <nav aria-label="Console">
        <a href="/console">Jobs</a>
        <a href="/console/cron">Cron preview</a>
        {{#readOnly}}<span class="badge" title="Signed in with the read-only token">read-only</span>{{/readOnly}}
        <form method="post" action="/console/session/delete" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit">Sign out</button>
        </form>
        </nav>
        {{/frame.signedIn}}
        </header>
        <main>

        """

    static let foot = """
        </main>
        </body>
        </html>

        """

    static let signIn = """
        {{> head}}
        <h1>Sign in</h1>
        <p>Paste the gateway's API token (<code>BATON_API_TOKEN</code>, or <code>BATON_API_READ_TOKEN</code> to look without changing anything). <code>baton up</code> wrote it to <code>.baton/token</code>.</p>
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <form method="post" action="/console/session" class="stacked">
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
        <button type="submit">Sign in</button>
        </form>
        {{> foot}}
        """

    static let jobs = """
        {{> head}}
        <h1>Jobs</h1>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        <form method="get" action="/console" class="filters">
        <label for="f-name">Name starts with</label>
        <input id="f-name" name="name" value="{{filter.name}}" maxlength="63">
        <label for="f-state">State</label>
        <select id="f-state" name="state">
        {{#filter.states}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{title}}</option>{{/filter.states}}
        </select>
        <label for="f-queue">Queue</label>
        <input id="f-queue" name="queue" value="{{filter.queue}}" maxlength="255">
        <label for="f-label">Label</label>
        <input id="f-label" name="label" value="{{filter.label}}" placeholder="key:value" maxlength="512">
        <button type="submit">Filter</button>
        </form>
        {{> errors}}
        <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Schedule</th><th scope="col">Time zone</th><th scope="col">Next fire</th><th scope="col">State</th><th scope="col">Queue</th><th scope="col">Labels</th><th scope="col">Last outcome</th></tr></thead>
        <tbody>
        {{#rows}}
        <tr>
        <td><a href="{{href}}">{{name}}</a></td>
        <td><code>{{written}}</code>{{#words}}<br><span class="muted">{{words}}</span>{{/words}}</td>
        <td>{{zone}}</td>
        <td>{{#nextFire}}<time datetime="{{nextFireUTC}}">{{nextFire}}</time>{{/nextFire}}{{^nextFire}}—{{/nextFire}}</td>
        <td><span class="state state-{{state}}">{{state}}</span></td>
        <td>{{queue}}</td>
        <td>{{#labels}}<span class="label">{{.}}</span> {{/labels}}</td>
        <td>{{#outcome}}{{outcome}}{{/outcome}}{{^outcome}}—{{/outcome}}</td>
        </tr>
        {{/rows}}
        {{^rows}}<tr><td colspan="8" class="muted">No jobs match.</td></tr>{{/rows}}
        </tbody>
        </table>
        {{#next}}<p><a href="{{next}}" rel="next">Next page</a></p>{{/next}}
        {{> foot}}
        """

    static let job = """
        {{> head}}
        <h1>{{name}} <span class="state state-{{state}}">{{state}}</span></h1>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{#parked}}<p class="error">Parked: {{parked}}</p>{{/parked}}
        <dl>
        <dt>Schedule</dt><dd><code>{{written}}</code>{{#words}} ({{words}}){{/words}}</dd>
        <dt>Time zone</dt><dd>{{zone}}</dd>
        <dt>Queue</dt><dd>{{queue}}</dd>
        <dt>Revision</dt><dd>{{revision}}</dd>
        </dl>
        {{#actions}}
        <section class="actions" aria-label="Actions">
        <form method="post" action="{{base}}/trigger" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="key" value="{{runKey}}">
        <button type="submit">Run now</button>
        </form>
        {{#pausable}}
        <form method="post" action="{{base}}/pause" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit">Pause</button>
        </form>
        {{/pausable}}
        {{#resumable}}
        <form method="post" action="{{base}}/resume" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit">Resume</button>
        </form>
        {{/resumable}}
        <a class="button danger" href="{{base}}/delete">Delete…</a>
        </section>
        {{/actions}}
        <h2>Next fires</h2>
        {{#firesNote}}<p class="muted">{{firesNote}}</p>{{/firesNote}}
        {{> fires}}
        <h2>Recent tickets</h2>
        <table>
        <thead><tr><th scope="col">Ticket</th><th scope="col">Slot</th><th scope="col">State</th><th scope="col">Reason</th><th scope="col">Attempts</th><th scope="col">Trigger</th></tr></thead>
        <tbody>
        {{#tickets}}
        <tr>
        <td><code title="{{id}}">{{shortID}}</code></td>
        <td><time datetime="{{slot}}">{{slot}}</time></td>
        <td><span class="state state-{{state}}">{{state}}</span></td>
        <td>{{reason}}{{#detail}}<br><span class="muted">{{detail}}</span>{{/detail}}</td>
        <td>{{attempts}}</td>
        <td>{{trigger}}</td>
        </tr>
        {{/tickets}}
        {{^tickets}}<tr><td colspan="6" class="muted">No tickets yet.</td></tr>{{/tickets}}
        </tbody>
        </table>
        <h2>Spec</h2>
        <p class="muted">As <code>GET /v1/jobs/{{name}}</code> shows it; secret headers and environment values appear as <code>***</code>.</p>
        <pre class="spec">{{spec}}</pre>
        {{> foot}}
        """

    static let confirmDelete = """
        {{> head}}
        <h1>Delete {{name}}?</h1>
        <p>Its pending and retrying tickets are cancelled and running ones asked to stop; its history is kept. The name can be used again.</p>
        <form method="post" action="{{base}}/delete" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit" class="danger">Delete {{name}}</button>
        </form>
        <a href="{{base}}">Cancel</a>
        {{> foot}}
        """

    static let cron = """
        {{> head}}
        <h1>Cron preview</h1>
        <form method="get" action="/console/cron" class="stacked">
        <label for="expr">Expression</label>
        <input id="expr" name="expr" value="{{expr}}" placeholder="30 2 * * *" required>
        <label for="tz">Time zone</label>
        <input id="tz" name="tz" value="{{tz}}" placeholder="Europe/Berlin">
        <button type="submit">Preview</button>
        </form>
        {{> errors}}
        {{#hasFires}}
        <h2>Next fires</h2>
        {{> fires}}
        {{/hasFires}}
        {{> foot}}
        """

    static let error = """
        {{> head}}
        <h1>{{status}} {{heading}}</h1>
        <p class="error" role="alert">{{detail}}</p>
        <p><a href="/console">Back to the jobs</a></p>
        {{> foot}}
        """
}
