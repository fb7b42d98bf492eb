import BatonCore
import BatonStore
import Logging
import PostgresNIO

/// The first connection of a role, made before its pool starts, so that a database that is not there says so.
///
/// Why: `PostgresClient` retries a failing connection with backoff and queues every request meanwhile (its circuit
/// breaker only fails them after 60 s, and keeps retrying after that), which is right once a role runs, since an
/// outage must not stop it, but at start-up it turned a typo in `BATON_DB` into a process that waits silently. So a role makes
/// one connection of its own first: it retries what a server that is still starting answers (connection refused, a
/// name not resolvable yet, `57P03`) until ``PostgresConnectionSettings/startupWait`` has passed, and gives up at
/// once on what waiting cannot fix (authentication, a missing database, a startup parameter a pooler refuses).
public enum PostgresStartupCheck {
    /// Why the first connection failed, for `error: database: …` and exit status 2. Never contains the password.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// One failed attempt: what went wrong in words, and whether waiting may help.
    struct Problem: Equatable {
        var text: String
        var transient: Bool
    }

    /// Returns once a connection to `url` opened and authenticated (it is closed again), or throws after
    /// `settings.startupWait` of transient failures, or at the first permanent one.
    public static func waitUntilReachable(
        _ url: DatabaseLocation.PostgresURL, settings: PostgresConnectionSettings, logger: Logger
    ) async throws(Failure) {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: settings.startupWait.duration)
        let target = "PostgreSQL at \(url.hostAndPort) (database \"\(url.database)\", user \"\(url.user)\")"
        var delay = Duration.milliseconds(100)
        var warned = false
        while true {
            // Each attempt may take what is left of the wait, but at least 1 s, so a slow server is not cut off by
            // a deadline that is nearly over.
            let remaining = max(clock.now.duration(to: deadline), .seconds(1))
            let problem: Problem
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: try configuration(url, settings: settings, connectTimeout: min(remaining, .seconds(10))),
                    id: 0, logger: quiet)
                try? await connection.close()
                if warned { logger.notice("reached \(target)") }
                return
            } catch let failure as Failure {
                throw failure
            } catch {
                problem = classify(error, url: url)
            }
            let waited = start.duration(to: clock.now)
            guard problem.transient else { throw Failure(description: "cannot use \(target): \(problem.text)") }
            guard clock.now.advanced(by: delay) < deadline else {
                throw Failure(
                    description: "cannot reach \(target): \(problem.text); gave up after \(TimeSpan(waited)) "
                        + "(BATON_DB_CONNECT_TIMEOUT / --db-connect-timeout, \(settings.startupWait))")
            }
            if !warned {
                warned = true
                logger.warning(
                    "waiting for PostgreSQL",
                    metadata: ["target": "\(url.hostAndPort)", "problem": "\(problem.text)", "wait": "\(settings.startupWait)"])
            }
            do {
                try await Task.sleep(for: delay)
            } catch {
                throw Failure(description: "cancelled while waiting for \(target)")
            }
            delay = min(delay * 2, .seconds(1))
        }
    }

    /// The same connection the pool will open: host, TLS mode and startup parameters (so a pooler that refuses
    /// `statement_timeout` is found here, not at the first query).
    static func configuration(
        _ url: DatabaseLocation.PostgresURL, settings: PostgresConnectionSettings, connectTimeout: Duration
    ) throws(Failure) -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch url.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        } catch {
            throw Failure(description: "cannot set up TLS for \(url.hostAndPort): \(error)")
        }
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database, tls: tls)
        configuration.options.connectTimeout = TimeAmount(connectTimeout)
        configuration.options.additionalStartupParameters = settings.startupParameters
        return configuration
    }

    /// What an operator needs to read: the host and port are in the caller's sentence, the server's own words
    /// (which name the user or the database, never the password) when it answered.
    static func classify(_ error: any Error, url: DatabaseLocation.PostgresURL) -> Problem {
        guard let psql = error as? PSQLError else { return network(error) }
        switch psql.code {
        case .server:
            let state = psql.serverInfo?[.sqlState] ?? ""
            let message = psql.serverInfo?[.message] ?? "server error"
            switch state {
            case "28P01": return Problem(text: "authentication failed for user \"\(url.user)\" (SQLSTATE 28P01)", transient: false)
            case "28000": return Problem(text: "authentication failed: \(message) (SQLSTATE 28000)", transient: false)
            case "3D000": return Problem(text: "database \"\(url.database)\" does not exist (SQLSTATE 3D000)", transient: false)
            case "57P03", "53300", "57P01":
                // Starting up, shutting down, in recovery, or out of connection slots: another try may do.
                return Problem(text: "\(message) (SQLSTATE \(state))", transient: true)
            case "08P01" where message.contains("startup parameter"):
                // PgBouncer's answer to a startup parameter it does not pass on.
                return Problem(
                    text: "\(message): the pooler refuses the statement_timeout / idle_in_transaction_session_timeout startup "
                        + "parameters (Docs/Operations.md, \"PgBouncer\")", transient: false)
            default:
                return Problem(text: "\(message) (SQLSTATE \(state))", transient: false)
            }
        case .sslUnsupported:
            return Problem(text: "the server does not offer TLS, and the URL says sslmode=require", transient: false)
        case .authMechanismRequiresPassword:
            return Problem(text: "authentication failed: the server asks for a password and the URL has none", transient: false)
        case .unsupportedAuthMechanism, .saslError:
            return Problem(text: "authentication failed (\(psql.code))", transient: false)
        case .connectionError:
            return psql.underlying.map(network) ?? Problem(text: "connection failed", transient: true)
        default:
            return Problem(text: "\(psql.code)", transient: true)
        }
    }

    /// A failure below PostgreSQL's protocol: name resolution, TCP, timeouts. All transient (a server that is still
    /// starting, a container whose name is not in DNS yet), within the start-up wait.
    static func network(_ error: any Error) -> Problem {
        switch error {
        case let error as NIOConnectionError:
            if let io = error.connectionErrors.lazy.compactMap({ $0.error as? IOError }).first {
                return network(io)
            }
            if let failure = error.connectionErrors.first {
                return network(failure.error)
            }
            if error.dnsAError != nil || error.dnsAAAAError != nil {
                return Problem(text: "no such host \"\(error.host)\"", transient: true)
            }
            return Problem(text: "connection failed", transient: true)
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED: return Problem(text: "connection refused", transient: true)
            case ETIMEDOUT: return Problem(text: "connection timed out", transient: true)
            case EHOSTUNREACH, ENETUNREACH: return Problem(text: "host unreachable", transient: true)
            default: return Problem(text: "\(error.description)", transient: true)
            }
        case let error as ChannelError:
            if case .connectTimeout = error { return Problem(text: "connection timed out", transient: true) }
            return Problem(text: "\(error)", transient: true)
        case is SocketAddressError:
            return Problem(text: "no such host", transient: true)
        default:
            return Problem(text: "\(error)", transient: true)
        }
    }

    private static let quiet = Logger(label: "baton.postgres.startup", factory: { _ in SwiftLogNoOpLogHandler() })
}

extension DatabaseLocation.PostgresURL {
    /// `host:port`, with an IPv6 address in brackets.
    public var hostAndPort: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}

extension TimeSpan {
    /// Rounded down to the millisecond.
    init(_ duration: Duration) {
        self.init(milliseconds: duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}
