import ArgumentParser
import BatonRuntime
import Foundation
import Gateway

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where `baton jobs` and `baton tickets` find the gateway: `--url` or `BATON_URL` (default
/// http://127.0.0.1:8080), and its token (``ClientToken``).
struct ClientOptions: ParsableArguments {
    @Option(help: "Gateway URL (env BATON_URL, default http://127.0.0.1:8080).")
    var url: String?

    @Option(name: .customLong("api-token"), help: "Bearer token, sent to any --url (env BATON_API_TOKEN).")
    var apiToken: String?

    @Option(help: "The data directory of `baton up`, whose token file is used for a loopback --url (env BATON_DATA, default ./.baton).")
    var data: String?

    @Flag(help: "Print the API's JSON instead of a table.")
    var json = false

    func client() throws -> GatewayClient {
        let text = Settings.string(url, env: "BATON_URL", default: "http://127.0.0.1:8080")
        guard let base = URL(string: text), let scheme = base.scheme, ["http", "https"].contains(scheme), base.host != nil else {
            throw ValidationError("BATON_URL / --url: \"\(text)\" is not an http(s) URL")
        }
        let resolution = try ClientToken.resolve(
            for: base, explicit: Settings.optionalString(apiToken, env: "BATON_API_TOKEN"),
            dataDirectory: Settings.optionalString(data, env: "BATON_DATA"))
        if let notice = resolution.notice { FileHandle.standardError.write(Data("note: \(notice)\n".utf8)) }
        return GatewayClient(base: base, token: resolution.token)
    }
}

/// Which token the client sends. A token given explicitly (`--api-token`, `BATON_API_TOKEN`) goes to
/// whatever URL the user named. The token file `baton up` writes (`DATA/token`, `--data` / `BATON_DATA`,
/// default `./.baton`) is a local gateway's credential: it is sent only to a loopback URL, so a `--url`
/// pointing elsewhere (a typo, a hostile link in a script) never receives it.
enum ClientToken {
    struct Resolution: Equatable {
        var token: String?
        /// Said on stderr: why a token file that exists was not used.
        var notice: String?
    }

    static let defaultDataDirectory = "./.baton"

    /// - Parameter dataDirectory: `--data` / `BATON_DATA` when given; a named directory without a token
    ///   file is a usage error, while the default directory may simply not exist.
    static func resolve(for base: URL, explicit: String?, dataDirectory: String?) throws -> Resolution {
        if let explicit { return Resolution(token: explicit) }
        let file = URL(fileURLWithPath: dataDirectory ?? defaultDataDirectory).appendingPathComponent("token").path
        let host = base.host ?? ""
        guard ListenAddress.isLoopback(host: host) else {
            let exists = FileManager.default.fileExists(atPath: file)
            return Resolution(
                token: nil,
                notice: exists
                    ? "not sending the token in \(file) to \(host), which is not a loopback address; "
                        + "pass --api-token or BATON_API_TOKEN to authenticate there" : nil)
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            if dataDirectory != nil {
                throw ValidationError("BATON_DATA / --data: no token file at \(file) (the directory given to `baton up --data`)")
            }
            return Resolution(token: nil)
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Resolution(token: token.isEmpty ? nil : token)
    }
}

/// A small HTTP client of the gateway API over URLSession.
struct GatewayClient: Sendable {
    let base: URL
    let token: String?

    struct Reply {
        var status: Int
        var body: Data
        var headers: [String: String]

        /// The body as a JSON object (or empty when it is not one).
        var object: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }

        var prettyJSON: String {
            guard let value = try? JSONSerialization.jsonObject(with: body),
                let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            else { return String(decoding: body, as: UTF8.self) }
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// Sends one request; a problem response (status ≥ 400) becomes a `CLIFailure` with the API's explanation.
    func send(
        _ method: String, _ path: String, query: [URLQueryItem] = [], body: Data? = nil, headers: [String: String] = [:]
    ) async throws -> Reply {
        guard var components = URLComponents(url: base, resolvingAgainstBaseURL: false) else {
            throw CLIFailure.usage("bad gateway URL \(base)")
        }
        components.path = components.path.trimmingSuffix("/") + path
        components.queryItems = query.isEmpty ? nil : query
        guard let url = components.url else { throw CLIFailure.usage("cannot build a URL for \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body { request.httpBody = body }
        // The gateway refuses any unsafe method without a JSON content type, body or not (API.md "Bodies").
        if body != nil || !["GET", "HEAD", "OPTIONS"].contains(method) {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw CLIFailure.unreachable("cannot reach the gateway at \(base): \(error.localizedDescription)")
        }
        guard let http = response as? HTTPURLResponse else { throw CLIFailure.unreachable("no HTTP response from \(base)") }
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { fields[key.lowercased()] = value }
        }
        let reply = Reply(status: http.statusCode, body: data, headers: fields)
        guard http.statusCode < 400 else { throw CLIFailure.api(Self.describeProblem(reply)) }
        return reply
    }

    /// `404 Not found: no job named "x"` plus one line per invalid field.
    static func describeProblem(_ reply: Reply) -> String {
        let problem = reply.object
        let title = problem["title"] as? String ?? HTTPURLResponse.localizedString(forStatusCode: reply.status)
        var lines = ["\(reply.status) \(title)" + ((problem["detail"] as? String).map { ": \($0)" } ?? "")]
        for case let issue as [String: Any] in problem["errors"] as? [Any] ?? [] {
            lines.append("  \(issue["field"] as? String ?? "?"): \(issue["message"] as? String ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}

/// Columns padded to their widest cell, for people.
enum Table {
    static func render(headers: [String], rows: [[String]]) -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }

    static func text(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "-"
        case let text as String: return text
        case let number as NSNumber: return number.stringValue
        default: return "\(value!)"
        }
    }
}
