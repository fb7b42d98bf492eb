import Foundation

/// Where the database is, as `BATON_DB` / `--db` say (CONTRACT §3, issue 14): a PostgreSQL URL, or an SQLite file.
///
/// A value that looks like a URL of any other scheme is refused rather than taken for a file name: before this,
/// `BATON_DB=postgresql://…` silently created an SQLite file in a folder named `postgresql:`, and every role ran on it.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresURL)

    /// A PostgreSQL server and database, from `postgres://user:password@host:port/database?sslmode=…`.
    public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
        public enum TLS: String, Sendable, Equatable {
            case disable, prefer, require
        }

        public var host: String
        public var port: Int
        public var user: String
        public var password: String?
        public var database: String
        public var tls: TLS

        public init(host: String, port: Int = 5432, user: String, password: String?, database: String, tls: TLS) {
            self.host = host
            self.port = port
            self.user = user
            self.password = password
            self.database = database
            self.tls = tls
        }

        /// The URL without its password, for logs and errors.
        public var description: String {
            "postgres://\(user)\(password == nil ? "" : ":***")@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?sslmode=\(tls.rawValue)"
        }
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Parses a `BATON_DB` value. The error message never contains the password.
    public init(parsing text: String) throws(ParseError) {
        let lowered = text.lowercased()
        for prefix in ["sqlite://", "sqlite:"] where lowered.hasPrefix(prefix) {
            let path = String(text.dropFirst(prefix.count))
            guard !path.isEmpty else { throw ParseError(description: "BATON_DB: \"\(text)\" names no SQLite file") }
            self = .sqlite(path: path)
            return
        }
        guard let scheme = Self.scheme(of: text) else {
            self = .sqlite(path: text)
            return
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw ParseError(
                description: "BATON_DB: unknown database scheme \"\(scheme):\"; use postgres://user:password@host:port/database, "
                    + "sqlite:PATH or a file path")
        }
        self = .postgres(try PostgresURL(parsing: text))
    }

    /// The scheme when `text` looks like a URL (`letters://…`, or `letters:…` with two or more letters, so a
    /// Windows-style `C:\…` or a relative file name with no colon stays a path), else nil.
    static func scheme(of text: String) -> String? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let scheme = text[..<colon]
        let isScheme = !scheme.isEmpty && scheme.allSatisfy { $0.isASCII && ($0.isLetter || $0 == "+" || $0 == "-" || $0 == ".") }
            && scheme.first?.isLetter == true
        guard isScheme, scheme.count >= 2 || text[colon...].hasPrefix("://") else { return nil }
        return scheme.lowercased()
    }
}

extension DatabaseLocation.PostgresURL {
    init(parsing text: String) throws(DatabaseLocation.ParseError) {
        func fail(_ problem: String) -> DatabaseLocation.ParseError {
            DatabaseLocation.ParseError(
                description: "BATON_DB: \(problem); expected postgres://user:password@host:port/database[?sslmode=disable|prefer|require]")
        }
        guard let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
            throw fail("not a PostgreSQL URL with a host")
        }
        guard let user = components.user, !user.isEmpty else { throw fail("the URL names no user") }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !database.isEmpty, !database.contains("/") else { throw fail("the URL names no database (…/database)") }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw fail("port \(port) is out of range") }
        var tls: TLS = Self.isLoopback(host) ? .disable : .prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLS.init(rawValue:)) else {
                    throw fail("sslmode must be disable, prefer or require")
                }
                tls = mode
            default:
                throw fail("unknown parameter \"\(item.name)\" (only sslmode is understood)")
            }
        }
        self.init(
            host: host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host, port: port,
            // `user` and `password` come back percent-decoded already; the path does not.
            user: user, password: components.password, database: database.removingPercentEncoding ?? database, tls: tls)
    }

    /// Loopback needs no TLS by default; anything else prefers it.
    static func isLoopback(_ host: String) -> Bool {
        ["localhost", "127.0.0.1", "::1", "[::1]"].contains(host.lowercased()) || host.hasPrefix("127.")
    }
}
