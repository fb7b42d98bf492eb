import Foundation

/// A fresh directory under the system's temporary folder for one test's database, sockets and logs. Every test target
/// makes its temporary files through it, so each is named and removed alike.
///
/// Removal is explicit (`defer { directory.remove() }`, or the owning fixture's `deinit`), not tied to this value's
/// lifetime: ARC may release an object after its last use, which would delete a database a test is still using.
public struct TemporaryDirectory: Sendable {
    public let url: URL

    /// `prefix` names the directory after the test that made it (`baton-<prefix>-<uuid>`), for whoever finds one left
    /// behind by a crashed run.
    public init(_ prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("baton-\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public var path: String { url.path }

    /// A path inside the directory.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Where a test's SQLite database lives (the file itself is created by whoever opens it).
    public var databasePath: String { path("baton.sqlite") }

    public func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}
