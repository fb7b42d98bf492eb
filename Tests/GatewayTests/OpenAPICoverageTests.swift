import BatonCore
import Foundation
import Gateway
import HummingbirdTesting
import Testing

@Suite("OpenAPI document")
struct OpenAPICoverageTests {
    @Test("every registered route is documented in /openapi.json, and every documented operation is registered")
    func coverage() async throws {
        let fixture = try GatewayFixture()
        let document = try await fixture.test { client in try await client.send(.get, "/openapi.json") }
        #expect(document.status == .ok)
        #expect(document.string("openapi") == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let operations = Set(["get", "put", "post", "patch", "delete", "head", "options"])
        var documented = Set<String>()
        for (path, item) in paths {
            for method in item.keys where operations.contains(method) { documented.insert("\(method.uppercased()) \(path)") }
        }
        let registered = Set(fixture.routes.routes.map { "\($0.method.rawValue) \($0.openAPIPath)" })
        #expect(registered.count >= 20)
        #expect(registered.subtracting(documented).isEmpty, "registered but not documented: \(registered.subtracting(documented).sorted())")
        #expect(documented.subtracting(registered).isEmpty, "documented but not registered: \(documented.subtracting(registered).sorted())")
    }

    @Test("every list endpoint documents limit and cursor (CONTRACT §9)")
    func listsArePaginated() async throws {
        let fixture = try GatewayFixture()
        let document = try await fixture.test { client in try await client.send(.get, "/openapi.json") }
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let lists = ["/v1/jobs", "/v1/tickets", "/v1/executors"]
        for path in lists {
            let get = try #require(paths[path]?["get"] as? [String: Any], "\(path)")
            let references = (get["parameters"] as? [[String: Any]] ?? []).compactMap { $0["$ref"] as? String }
            #expect(references.contains("#/components/parameters/limit"), "\(path)")
            #expect(references.contains("#/components/parameters/cursor"), "\(path)")
        }
    }

    @Test("every bounded spec field states its range in /openapi.json, taken from TimeBounds (issue 12 item 2)")
    func boundsAreDocumented() async throws {
        let fixture = try GatewayFixture()
        let document = try await fixture.test { client in try await client.send(.get, "/openapi.json") }
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let spec = try #require((schemas["JobSpecFields"] as? [String: Any])?["properties"] as? [String: Any])
        func field(_ path: String) -> [String: Any]? {
            var node: Any? = spec
            for (index, key) in path.split(separator: ".").enumerated() {
                let properties = index == 0 ? node as? [String: Any] : (node as? [String: Any])?["properties"] as? [String: Any]
                node = properties?[String(key)]
            }
            return node as? [String: Any]
        }
        let durations: [(String, ClosedRange<TimeSpan>)] = [
            ("schedule.every", TimeBounds.every), ("policy.misfireGrace", TimeBounds.misfireGrace),
            ("policy.jitter", TimeBounds.jitter), ("policy.timeout", TimeBounds.timeout),
            ("action.http.timeout", TimeBounds.timeout), ("action.command.timeout", TimeBounds.timeout),
            ("policy.retry.initialDelay", TimeBounds.retryDelay), ("policy.retry.maxDelay", TimeBounds.retryDelay),
        ]
        for (path, bounds) in durations {
            let description = field(path)?["description"] as? String ?? ""
            #expect(description.contains(bounds.boundDescription), "\(path): \(description)")
        }
        let attempts = try #require(field("policy.retry.maxAttempts"))
        #expect(attempts["minimum"] as? Int == TimeBounds.maxAttempts.lowerBound)
        #expect(attempts["maximum"] as? Int == TimeBounds.maxAttempts.upperBound)
        let multiplier = try #require(field("policy.retry.multiplier"))
        #expect((multiplier["maximum"] as? NSNumber)?.doubleValue == TimeBounds.multiplier.upperBound)
    }
}
