import BatonStore
import Testing

@Suite("BATON_DB: PostgreSQL URLs, SQLite paths, and nothing else")
struct DatabaseLocationTests {
    @Test(arguments: [
        ("./.baton/baton.sqlite", "./.baton/baton.sqlite"),
        ("/var/lib/baton/baton.sqlite", "/var/lib/baton/baton.sqlite"),
        ("baton.sqlite", "baton.sqlite"),
        ("sqlite:/data/b.sqlite", "/data/b.sqlite"),
        ("sqlite://relative/b.sqlite", "relative/b.sqlite"),
        ("SQLITE:x.db", "x.db"),
        ("C:\\baton\\b.sqlite", "C:\\baton\\b.sqlite"),
    ])
    func pathsAndSQLiteURLsAreSQLite(_ text: String, _ path: String) throws {
        #expect(try DatabaseLocation(parsing: text) == .sqlite(path: path))
    }

    @Test func aPostgresURLNamesServerUserAndDatabase() throws {
        let location = try DatabaseLocation(parsing: "postgres://baton:s%40cret@db.example:6543/jobs?sslmode=require")
        #expect(
            location
                == .postgres(
                    .init(host: "db.example", port: 6543, user: "baton", password: "s@cret", database: "jobs", tls: .require)))
        guard case .postgres(let url) = location else { return }
        #expect(!url.description.contains("s@cret"))
        #expect(url.description.contains("***"))
    }

    @Test func postgresqlIsTheSameAndLoopbackDefaultsToNoTLS() throws {
        #expect(
            try DatabaseLocation(parsing: "postgresql://u@127.0.0.1/db")
                == .postgres(.init(host: "127.0.0.1", port: 5432, user: "u", password: nil, database: "db", tls: .disable)))
        #expect(
            try DatabaseLocation(parsing: "postgres://u:p@db.internal/db")
                == .postgres(.init(host: "db.internal", user: "u", password: "p", database: "db", tls: .prefer)))
    }

    @Test(arguments: [
        "mysql://u:p@h/db", "redis://h", "file:///tmp/x", "http://example.com/db", "postgresql:", "postgres://h/db",
        "postgres://u@/db", "postgres://u@h", "postgres://u@h/db?sslmode=verify-full", "postgres://u@h/db?pool=3", "sqlite:",
        "pg:whatever",
    ])
    func everythingElseThatLooksLikeAURLIsRefused(_ text: String) {
        #expect(throws: DatabaseLocation.ParseError.self) { try DatabaseLocation(parsing: text) }
    }

    @Test func theErrorNeverShowsThePassword() {
        do {
            _ = try DatabaseLocation(parsing: "postgres://u:hunter2@h/db?sslmode=bogus")
            Issue.record("an unknown sslmode must be refused")
        } catch {
            #expect(!error.description.contains("hunter2"))
            #expect(error.description.contains("BATON_DB"))
        }
    }
}
