import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The paths the console owns: `/` and everything under `/console`. The API's bearer check and JSON-only body
/// rule skip them (the console has its own session and CSRF token); the Host and Origin rules apply to them too.
enum ConsolePaths {
    static func contains(_ path: String) -> Bool {
        path == "/" || path == "/console" || path.hasPrefix("/console/")
    }
}

/// Responses, headers and cookies of the console.
enum ConsoleHTTP {
    static let cookieName = "baton_session"

    /// Only this origin's own files; no inline script or style (the templates have none), no framing, forms post
    /// only here, and no `<base>` to redirect relative URLs.
    static let contentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    /// The headers every console response carries, error pages included.
    static func secure(_ headers: inout HTTPFields) {
        headers[HTTPField.Name("Content-Security-Policy")!] = contentSecurityPolicy
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        // Pages carry CSRF tokens and job data: never stored. Assets set their own caching.
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
    }

    static func page(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// 303 See Other: after a form, the browser GETs the next page, so a reload does not post again.
    static func redirect(_ location: String, setCookie: String? = nil) -> Response {
        var headers: HTTPFields = [.location: location]
        if let setCookie { headers[.setCookie] = setCookie }
        return Response(status: .seeOther, headers: headers)
    }

    /// HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Path=/, the session's
    /// lifetime, and Secure when the browser reached us over HTTPS.
    static func sessionCookie(_ id: String, maxAge: Int64, secure: Bool) -> String {
        "\(cookieName)=\(id); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    static func clearedCookie(secure: Bool) -> String {
        sessionCookie("", maxAge: 0, secure: secure)
    }

    /// Whether the browser sees this origin over HTTPS. The gateway does not terminate TLS itself, so the answer
    /// comes from the proxy that does (`X-Forwarded-Proto: https`) or from the browser's own `Origin`. Trusting
    /// either is safe in the only direction it acts: a forged value can add `Secure` to a cookie (which then is
    /// not sent over plain HTTP), never remove it from one a real HTTPS request set.
    static func isHTTPS(_ request: Request) -> Bool {
        if let proto = request.headers[HTTPField.Name("X-Forwarded-Proto")!],
            proto.split(separator: ",").first?.trimmingCharacters(in: .whitespaces).lowercased() == "https"
        {
            return true
        }
        return request.headers[.origin]?.lowercased().hasPrefix("https://") ?? false
    }

    /// `a=1&b=x%20y`, for links that carry the jobs page's filters.
    static func query(_ items: [(String, String)]) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+#?/")
        return items.map { name, value in
            "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }
}

/// An `application/x-www-form-urlencoded` body, at most ``maximumSize`` bytes. Of a repeated field the first counts.
struct ConsoleForm {
    static let maximumSize = 16 * 1024

    let fields: [String: String]

    subscript(name: String) -> String? { fields[name] }

    static func read(_ request: Request) async throws -> ConsoleForm {
        let mediaType = request.headers[.contentType].map(BodyPolicyMiddleware<BasicRequestContext>.mediaType) ?? ""
        guard mediaType == "application/x-www-form-urlencoded" else {
            throw APIError(
                .unsupportedMediaType,
                "console forms are sent as application/x-www-form-urlencoded" + (mediaType.isEmpty ? "" : " (got \(mediaType))"))
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maximumSize)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "console forms are limited to \(maximumSize / 1024) KiB")
        }
        return try parse(String(buffer: buffer))
    }

    static func parse(_ text: String) throws(APIError) -> ConsoleForm {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = parts.count == 2 ? decode(parts[1]) : "" else {
                throw APIError(.malformedRequest, "the form is not valid application/x-www-form-urlencoded text")
            }
            if fields[name] == nil { fields[name] = value }
        }
        return ConsoleForm(fields: fields)
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
