import BatonTestSupport
import Foundation
import Testing

@testable import baton

@Suite("baton up: the API token file")
struct TokenFileTests {
    static func mode(_ path: String) throws -> mode_t {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw CocoaError(.fileNoSuchFile) }
        return info.st_mode
    }

    @Test("a new token file is a regular file with mode 0600 and nothing else is left in the directory")
    func createsOwnerOnly() throws {
        let workspace = try Workspace()
        let path = workspace.directory.appendingPathComponent("token").path
        let loaded = try TokenFile.load(orCreateAt: path)
        #expect(loaded.created)
        #expect(loaded.token.count == 64 && loaded.token.allSatisfy(\.isHexDigit))
        let mode = try Self.mode(path)
        #expect(mode & S_IFMT == S_IFREG)
        #expect(mode & 0o777 == 0o600)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == loaded.token + "\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.directory.path) == ["token"])
    }

    @Test("an owner-only token file is reused")
    func reusesOwnerOnly() throws {
        let workspace = try Workspace()
        let path = workspace.directory.appendingPathComponent("token").path
        let first = try TokenFile.load(orCreateAt: path)
        let second = try TokenFile.load(orCreateAt: path)
        #expect(second == TokenFile.Loaded(token: first.token, replaced: nil, created: false))
    }

    @Test("a token file others can read is replaced by a fresh owner-only one")
    func replacesReadableByOthers() throws {
        let workspace = try Workspace()
        let path = workspace.directory.appendingPathComponent("token").path
        let old = try TokenFile.load(orCreateAt: path)
        #expect(chmod(path, 0o644) == 0)
        let loaded = try TokenFile.load(orCreateAt: path)
        #expect(loaded.token != old.token)
        #expect(loaded.replaced?.contains("644") == true)
        #expect(try Self.mode(path) & 0o777 == 0o600)
    }

    @Test("a symlink planted at DATA/token is neither read nor written through")
    func doesNotFollowSymlinks() throws {
        let workspace = try Workspace()
        let path = workspace.directory.appendingPathComponent("token").path
        let planted = workspace.directory.appendingPathComponent("chosen-by-someone-else")
        try Data("attacker-known-token\n".utf8).write(to: planted)
        #expect(chmod(planted.path, 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: planted.path)

        let loaded = try TokenFile.load(orCreateAt: path)
        #expect(loaded.token != "attacker-known-token")
        #expect(loaded.replaced == "it is not a regular file")
        #expect(try Self.mode(path) & S_IFMT == S_IFREG)
        #expect(try String(contentsOf: planted, encoding: .utf8) == "attacker-known-token\n")
    }
}
