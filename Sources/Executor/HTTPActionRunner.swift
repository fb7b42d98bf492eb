import BatonCore
import Foundation

/// Runs `http` actions (CONTRACT §4, §9a): identity headers, 2xx = success, redirects are not followed, no proxy,
/// connections only to addresses outside the deny list (judged at connect time, see ``CurlTransport``), the first
/// 4 KiB of the body is kept.
public final class HTTPActionRunner: Sendable {
    private let transport: CurlTransport
    public let deny: HTTPDenyList

    public init(deny: HTTPDenyList = .standard, maximumConnectionsPerHost: Int = 16) {
        self.transport = CurlTransport(maximumConnectionsPerHost: maximumConnectionsPerHost)
        self.deny = deny
    }

    /// Cancels outstanding requests and stops the transport's thread.
    public func close() {
        transport.close()
    }

    public func run(_ action: HTTPAction, identity: TicketIdentity, timeout: TimeSpan, stop: StopSignal) async -> ActionResult {
        guard let url = URL(string: action.url), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            return ActionResult(outcome: .failed, output: "invalid_url: \"\(Redaction.url(action.url))\" is not an http or https URL")
        }
        var headers: [(name: String, value: String)] = []
        let identityHeaders = identity.httpHeaders
        let overridden = Set(identityHeaders.keys.map { $0.lowercased() })
        // The identity headers win over a job header of the same name, as they did with URLSession's setValue.
        for (name, value) in action.headers.sorted(by: { $0.key < $1.key }) where !overridden.contains(name.lowercased()) {
            headers.append((name, value))
        }
        for (name, value) in identityHeaders.sorted(by: { $0.key < $1.key }) {
            headers.append((name, value))
        }
        let request = CurlTransport.Request(
            url: action.url, method: action.method, headers: headers, body: action.body.map { Array($0.utf8) },
            timeout: timeout, deny: deny, bodyLimit: OutputLimit.bytes)

        enum Race: Sendable {
            case exchanged(HTTPExchange)
            case timedOut
            case stopped
        }
        let transport = self.transport
        let winner: Race = await withTaskGroup(of: Race?.self) { group in
            group.addTask { .exchanged(await transport.perform(request)) }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout.duration)
                    return .timedOut
                } catch {
                    return nil
                }
            }
            group.addTask { await stop.next(after: 0) == nil ? nil : .stopped }
            var first: Race = .stopped
            while let next = await group.next() {
                if let next {
                    first = next
                    break
                }
            }
            group.cancelAll()
            return first
        }
        switch winner {
        case .exchanged(.response(let status, let body)):
            let outcome: AttemptOutcome = (200...299).contains(status) ? .succeeded : .failed
            return ActionResult(outcome: outcome, status: status, output: OutputLimit.text(body.prefix(OutputLimit.bytes)))
        case .exchanged(.failure(let message, let timedOut)):
            return ActionResult(outcome: timedOut ? .timedOut : .failed, output: message)
        case .timedOut:
            return ActionResult(outcome: .timedOut, output: "timeout: no complete response within \(timeout)")
        case .stopped:
            return ActionResult(outcome: .cancelled, output: "stopped: the request was cancelled")
        }
    }
}

enum HTTPExchange: Sendable, Equatable {
    case response(status: Int, body: [UInt8])
    case failure(String, timedOut: Bool)
}
