import HTTPTypes
import Hummingbird
import Synchronization

/// Every route the gateway serves, recorded as it is registered with the router.
///
/// Hummingbird answers an unknown method on a known path with 404; the contract wants 405 with
/// `Allow`, so the problem middleware asks this table which methods the path has. The OpenAPI
/// coverage test reads the same table, so "registered" and "documented" are compared directly.
public final class RouteTable: Sendable {
    public struct Route: Sendable, Hashable, Comparable, CustomStringConvertible {
        public var method: HTTPRequest.Method
        /// Hummingbird's spelling: `/v1/jobs/:name`.
        public var path: String

        public var description: String { "\(method.rawValue) \(path)" }

        /// The OpenAPI spelling of the path: `/v1/jobs/{name}`.
        public var openAPIPath: String {
            "/" + RouteTable.segments(path).map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : $0 }.joined(separator: "/")
        }

        public static func < (lhs: Route, rhs: Route) -> Bool {
            (lhs.path, lhs.method.rawValue) < (rhs.path, rhs.method.rawValue)
        }
    }

    private let storage = Mutex<[Route]>([])

    public init() {}

    public var routes: [Route] { storage.withLock { $0.sorted() } }

    func record(_ method: HTTPRequest.Method, _ path: String) {
        let normalized = "/" + RouteTable.segments(path).joined(separator: "/")
        storage.withLock { $0.append(Route(method: method, path: normalized)) }
    }

    /// The methods registered for the template that matches `path`, sorted; empty when no template matches.
    func methods(matching path: String) -> [String] {
        let parts = RouteTable.segments(path)
        let matching = storage.withLock { routes in
            routes.filter { route in
                let template = RouteTable.segments(route.path)
                guard template.count == parts.count else { return false }
                return zip(template, parts).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
            }
        }
        return Set(matching.map(\.method.rawValue)).sorted()
    }

    static func segments(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
}

/// Registers handlers on a router group and records each route in a ``RouteTable``.
struct RecordingGroup<Context: RequestContext> {
    let group: RouterGroup<Context>
    let prefix: String
    let table: RouteTable

    init(_ router: Router<Context>, prefix: String, table: RouteTable) {
        self.group = router.group(RouterPath(prefix))
        self.prefix = prefix
        self.table = table
    }

    @discardableResult
    func on(
        _ method: HTTPRequest.Method, _ path: String = "",
        use handler: @escaping @Sendable (Request, Context) async throws -> Response
    ) -> Self {
        table.record(method, path.isEmpty ? prefix : "\(prefix)/\(path)")
        group.on(RouterPath(path), method: method, use: handler)
        return self
    }
}
