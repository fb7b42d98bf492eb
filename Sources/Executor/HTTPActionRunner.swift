import BatonCore
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Runs `http` actions (CONTRACT §4, §9a): identity headers, 2xx = success, redirects are not followed,
/// link-local targets are refused unless allowed, the first 4 KiB of the body is kept.
public final class HTTPActionRunner: Sendable {
    private let transport: HTTPTransport
    private let session: URLSession
    private let allowLinkLocal: Bool

    public init(allowLinkLocal: Bool, maximumConnectionsPerHost: Int = 16) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpMaximumConnectionsPerHost = maximumConnectionsPerHost
        let transport = HTTPTransport()
        self.transport = transport
        self.session = URLSession(configuration: configuration, delegate: transport, delegateQueue: nil)
        self.allowLinkLocal = allowLinkLocal
    }

    /// Cancels outstanding requests and releases the session (it retains its delegate until then).
    public func close() {
        session.invalidateAndCancel()
    }

    public func run(_ action: HTTPAction, identity: TicketIdentity, timeout: TimeSpan, stop: StopSignal) async -> ActionResult {
        guard let url = URL(string: action.url), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            return ActionResult(outcome: .failed, output: "invalid_url: \"\(action.url)\" is not an http or https URL")
        }
        if !allowLinkLocal, await LinkLocalGuard.isLinkLocal(host: host) {
            return ActionResult(
                outcome: .failed,
                output: "link_local_refused: \(host) is a link-local address (169.254.0.0/16, fe80::/10); "
                    + "set BATON_HTTP_ALLOW_LINK_LOCAL=true to allow it")
        }
        var request = URLRequest(url: url)
        request.httpMethod = action.method.uppercased()
        request.timeoutInterval = max(0.001, Double(timeout.milliseconds) / 1000)
        for (name, value) in action.headers {
            request.setValue(value, forHTTPHeaderField: name)
        }
        for (name, value) in identity.httpHeaders {
            request.setValue(value, forHTTPHeaderField: name)
        }
        if let body = action.body {
            request.httpBody = Data(body.utf8)
        }

        enum Race: Sendable {
            case exchanged(HTTPExchange)
            case timedOut
            case stopped
        }
        let transport = self.transport
        let session = self.session
        let prepared = request
        let winner: Race = await withTaskGroup(of: Race?.self) { group in
            group.addTask { .exchanged(await transport.perform(prepared, on: session)) }
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

/// The session delegate: collects each task's response and first 4 KiB, refuses redirects, and resumes the waiting
/// runner exactly once. Delegate-based tasks are used because swift-corelibs-foundation consults the delegate about
/// redirects only for them, not for completion-handler tasks.
final class HTTPTransport: NSObject, URLSessionDataDelegate, Sendable {
    private struct Pending {
        var continuation: CheckedContinuation<HTTPExchange, Never>
        var status: Int?
        var body: [UInt8] = []
    }

    private let pending = Mutex<[Int: Pending]>([:])

    func perform(_ request: URLRequest, on session: URLSession) async -> HTTPExchange {
        let task = session.dataTask(with: request)
        let id = task.taskIdentifier
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<HTTPExchange, Never>) in
                pending.withLock { $0[id] = Pending(continuation: continuation) }
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }

    private func finish(_ id: Int, _ exchange: (Pending) -> HTTPExchange) {
        guard let entry = pending.withLock({ $0.removeValue(forKey: id) }) else { return }
        entry.continuation.resume(returning: exchange(entry))
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        // CONTRACT §9a: never follow; the 3xx itself is the attempt's (failed) result.
        completionHandler(nil)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
    ) {
        let status = (response as? HTTPURLResponse)?.statusCode
        pending.withLock { $0[dataTask.taskIdentifier]?.status = status }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let full = pending.withLock { table -> Bool in
            guard var entry = table[dataTask.taskIdentifier] else { return false }
            let room = OutputLimit.bytes - entry.body.count
            if room > 0 { entry.body.append(contentsOf: data.prefix(room)) }
            table[dataTask.taskIdentifier] = entry
            return entry.body.count >= OutputLimit.bytes
        }
        if full {
            // Enough kept: answer now and stop downloading the rest.
            finish(dataTask.taskIdentifier) { .response(status: $0.status ?? 0, body: $0.body) }
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let response = task.response as? HTTPURLResponse
        finish(task.taskIdentifier) { entry in
            if let status = entry.status ?? response?.statusCode, error == nil || (300...399).contains(status) {
                return .response(status: status, body: entry.body)
            }
            if let error {
                let urlError = error as? URLError
                return .failure("request_failed: \(error.localizedDescription)", timedOut: urlError?.code == .timedOut)
            }
            return .failure("request_failed: no HTTP response", timedOut: false)
        }
    }
}
