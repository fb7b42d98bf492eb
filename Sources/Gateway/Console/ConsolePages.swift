import BatonCore
import HTTPTypes
import Hummingbird
import Mustache

/// The compiled templates and the view models they render. Models are plain structs read by Mustache through
/// reflection: stored properties only, and names that differ between a page and its rows (Mustache looks a name
/// up the whole context stack, so a row's missing `detail` would otherwise show its page's).
struct ConsolePages: Sendable {
    let library: MustacheLibrary

    init() throws {
        var library = MustacheLibrary()
        for (name, text) in ConsoleTemplates.all.sorted(by: { $0.key < $1.key }) {
            try library.register(text, named: name)
        }
        self.library = library
    }

    func render(_ template: String, _ model: Any, status: HTTPResponse.Status = .ok) throws(APIError) -> Response {
        guard let html = library.render(model, withTemplate: template) else {
            throw APIError(.internalError, "the console has no page \(template)")
        }
        return ConsoleHTTP.page(html, status: status)
    }

    func error(_ problem: APIError) -> Response {
        let model = ErrorPage(
            frame: Frame(title: problem.code.title), status: Int(problem.status.code), heading: problem.code.title,
            detail: problem.detail)
        let html = library.render(model, withTemplate: "error") ?? "\(problem.status.code) \(problem.code.title)"
        return ConsoleHTTP.page(html, status: problem.status)
    }

    // MARK: Models

    struct Frame {
        var title: String
        var stylesheet = ConsoleAssets.stylesheetPath
        var signedIn: SignedIn?

        init(title: String, session: ConsoleSessions.Session? = nil) {
            self.title = title
            signedIn = session.map { SignedIn(csrf: $0.csrf, readOnly: $0.role == .readOnly) }
        }
    }

    struct SignedIn {
        var csrf: String
        var readOnly: Bool
    }

    struct Issue {
        var field: String
        var message: String
    }

    struct ErrorPage {
        var frame: Frame
        var status: Int
        var heading: String
        var detail: String
    }

    struct SignInPage {
        var frame: Frame
        var error: String?
    }

    struct JobsPage {
        var frame: Frame
        var notice: String?
        var filter: FilterForm
        var hasErrors: Bool
        var errors: [Issue]
        var rows: [JobRow]
        var next: String?
    }

    struct FilterForm {
        var name: String
        var queue: String
        var label: String
        var states: [StateOption]
    }

    struct StateOption {
        var value: String
        var title: String
        var selected: Bool
    }

    struct JobRow {
        var name: String
        var href: String
        var written: String
        var words: String?
        var zone: String
        var nextFire: String?
        var nextFireUTC: String?
        var state: String
        var queue: String
        var labels: [String]
        var outcome: String?
    }

    struct JobPage {
        var frame: Frame
        var notice: String?
        var name: String
        var state: String
        var parked: String?
        var written: String
        var words: String?
        var zone: String
        var queue: String
        var revision: Int64
        var actions: Actions?
        var firesNote: String?
        var fires: [Fire]
        var tickets: [TicketRow]
        var spec: String
    }

    struct Actions {
        var base: String
        var csrf: String
        var runKey: String
        var pausable: Bool
        var resumable: Bool
    }

    struct Fire {
        var utc: String
        var local: String
    }

    struct TicketRow {
        var id: String
        var shortID: String
        var slot: String
        var state: String
        var reason: String?
        var detail: String?
        var attempts: String
        var trigger: String
    }

    struct DeletePage {
        var frame: Frame
        var name: String
        var base: String
        var csrf: String
    }

    struct CronPage {
        var frame: Frame
        var expr: String
        var tz: String
        var hasErrors: Bool
        var errors: [Issue]
        var hasFires: Bool
        var fires: [Fire]
    }
}
