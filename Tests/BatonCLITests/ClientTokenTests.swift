import BatonTestSupport
import Foundation
import Testing

@testable import baton

@Suite("baton jobs / tickets: which token is sent where")
struct ClientTokenTests {
    /// A `baton up --data` directory with its token file.
    static func dataDirectory(token: String = "file-token") throws -> Workspace {
        let workspace = try Workspace()
        _ = try TokenFile.store(token, at: workspace.directory.appendingPathComponent("token").path)
        return workspace
    }

    @Test(
        "the token file of --data is sent to loopback URLs",
        arguments: ["http://127.0.0.1:8080", "http://localhost:9000/", "http://[::1]:8080", "https://127.0.0.2"])
    func fileTokenToLoopback(url: String) throws {
        let data = try Self.dataDirectory()
        let resolution = try ClientToken.resolve(for: try #require(URL(string: url)), explicit: nil, dataDirectory: data.directory.path)
        #expect(resolution == ClientToken.Resolution(token: "file-token", notice: nil))
    }

    @Test(
        "the token file is never sent to a URL that is not loopback, and the user is told why",
        arguments: ["http://gateway.internal:8080", "http://127.0.0.1.evil.example", "http://10.0.0.5:8080", "https://[2001:db8::1]"])
    func fileTokenNotToRemote(url: String) throws {
        let data = try Self.dataDirectory()
        let resolution = try ClientToken.resolve(for: try #require(URL(string: url)), explicit: nil, dataDirectory: data.directory.path)
        #expect(resolution.token == nil)
        #expect(resolution.notice?.contains("not a loopback address") == true)
    }

    @Test("an explicit token (--api-token, BATON_API_TOKEN) is sent to any URL and wins over the file")
    func explicitToken() throws {
        let data = try Self.dataDirectory()
        for url in ["http://gateway.internal:8080", "http://127.0.0.1:8080"] {
            let resolution = try ClientToken.resolve(
                for: try #require(URL(string: url)), explicit: "given", dataDirectory: data.directory.path)
            #expect(resolution == ClientToken.Resolution(token: "given", notice: nil))
        }
    }

    @Test("a --data directory without a token file is a usage error naming the option")
    func missingTokenFile() throws {
        let empty = try Workspace()
        let error = #expect(throws: (any Error).self) {
            try ClientToken.resolve(for: try #require(URL(string: "http://127.0.0.1:8080")), explicit: nil, dataDirectory: empty.directory.path)
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("--data"))
    }

    @Test("--data and --api-token are options of every client command")
    func options() throws {
        let data = try Self.dataDirectory(token: "from-up")
        let list = try Jobs.List.parse(["--data", data.directory.path, "--url", "http://localhost:8080"])
        #expect(try list.options.client().token == "from-up")
        let remote = try Tickets.List.parse(["--data", data.directory.path, "--url", "http://gateway.internal"])
        #expect(try remote.options.client().token == nil)
        let explicit = try Jobs.Pause.parse(["x", "--api-token", "flag", "--url", "http://gateway.internal"])
        #expect(try explicit.options.client().token == "flag")
    }
}
