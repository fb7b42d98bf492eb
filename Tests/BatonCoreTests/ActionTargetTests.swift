import BatonCore
import Testing

@Suite("Action targets (where secrets go)")
struct ActionTargetTests {
    static func http(_ url: String) -> ActionTarget { ActionTarget(.http(HTTPAction(url: url))) }

    @Test("scheme, host and port decide; default ports, case, path and query do not")
    func httpOrigins() {
        let base = Self.http("http://api.example/run")
        #expect(base == .origin(scheme: "http", host: "api.example", port: 80))
        for same in ["http://api.example:80/other", "HTTP://API.EXAMPLE/run?x=1", "http://api.example"] {
            #expect(Self.http(same).mayReceiveSecrets(of: base), "\(same)")
        }
        for other in ["https://api.example/run", "http://api.example:8080/run", "http://api.example.evil/run", "http://evil/run"] {
            #expect(!Self.http(other).mayReceiveSecrets(of: base), "\(other)")
        }
        #expect(Self.http("https://api.example") == .origin(scheme: "https", host: "api.example", port: 443))
    }

    @Test("a command's target is argv[0]; noop and kind changes never match")
    func programs() {
        let report = ActionTarget(.command(CommandAction(argv: ["/usr/bin/report", "a"])))
        #expect(ActionTarget(.command(CommandAction(argv: ["/usr/bin/report", "b"]))).mayReceiveSecrets(of: report))
        #expect(!ActionTarget(.command(CommandAction(argv: ["/tmp/report", "a"]))).mayReceiveSecrets(of: report))
        #expect(!ActionTarget(.noop).mayReceiveSecrets(of: .nowhere))
        #expect(!Self.http("http://usr/bin/report").mayReceiveSecrets(of: report))
    }
}
