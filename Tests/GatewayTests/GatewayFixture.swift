import BatonCore
import BatonSQLite
import BatonStore
import BatonTestSupport
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import Testing

/// A gateway over a fresh SQLite file in its own temporary directory, with a manual clock.
final class GatewayFixture: Sendable {
    static let token = "test-token-0123456789abcdef"
    static let readToken = "read-token-0123456789abcdef"
    static let t0 = Timestamp(milliseconds: 1_790_000_000_000)

    let directory: TemporaryDirectory
    let configuration: GatewayConfiguration
    /// How the gateway under test opens its database; `baton gateway` builds the same from flags and env.
    let store: StoreConfiguration
    /// Migrate the database before building the gateway, as `baton gateway` does.
    let migrate: Bool
    let registry = PrometheusCollectorRegistry()
    let clock: ManualWallClock
    let routes = RouteTable()

    init(
        token: String? = GatewayFixture.token, readToken: String? = nil, allowCommands: Bool = false, migrate: Bool = true,
        schedulers: [String] = [], busyTimeout: TimeSpan = .seconds(5), start: Timestamp = GatewayFixture.t0
    ) throws {
        directory = try TemporaryDirectory("gateway")
        store = StoreConfiguration(path: directory.databasePath, busyTimeout: busyTimeout)
        self.migrate = migrate
        configuration = GatewayConfiguration(
            apiToken: token, apiReadToken: readToken, schedulers: schedulers, allowCommands: allowCommands)
        clock = ManualWallClock(start)
    }

    deinit {
        directory.remove()
    }

    var databasePath: String { store.path }

    /// A second connection to the same file, as another process (the scheduler) would open it.
    func database() throws -> BatonDatabase {
        let database = try BatonDatabase(store)
        try database.migrate()
        return database
    }

    /// Builds the real application and drives its router.
    func test<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        var logger = Logger(label: "gateway-test")
        logger.logLevel = .critical
        let database = try BatonDatabase(store)
        if migrate { try database.migrate() }
        let app = try await buildApplication(
            configuration, stores: .sqlite(database), registry: registry, clock: clock, logger: logger, routes: routes)
        return try await app.test(.router, body)
    }
}

/// A response with its body parsed.
struct Reply: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    subscript(key: String) -> Any? { json[key] }

    func string(_ key: String) -> String? { json[key] as? String }

    var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }

    /// The `field`s of a 422 problem.
    var errorFields: [String] {
        (json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
    }

    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
}

extension TestClientProtocol {
    /// Sends a request as a well-behaved client would: with the token and, for a body or an unsafe method,
    /// a JSON content type (`jsonContentType: false` leaves it out; `headers` override either).
    func send(
        _ method: HTTPRequest.Method, _ uri: String, json body: String? = nil, token: String? = GatewayFixture.token,
        headers extra: [String: String] = [:], jsonContentType: Bool = true
    ) async throws -> Reply {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        if jsonContentType, body != nil || ![.get, .head, .options].contains(method) { headers[.contentType] = "application/json" }
        for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
        let response = try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        return Reply(status: response.status, headers: response.headers, text: String(buffer: response.body))
    }
}

enum Specs {
    static func every(_ name: String, _ interval: String = "60s", extra: String = "") -> String {
        #"{"name": "\#(name)", "schedule": {"every": "\#(interval)"}, "action": {"noop": {}}\#(extra)}"#
    }

    static func http(_ name: String, headers: String) -> String {
        #"{"name": "\#(name)", "schedule": {"every": "60s"}, "action": {"http": {"method": "POST", "url": "http://example.test/run", "headers": \#(headers)}}}"#
    }
}
