import BatonCore
import CCurl
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// HTTP actions on libcurl's C API: one multi handle, driven by one thread, shared by every request.
///
/// Why libcurl directly rather than URLSession (which runs on the same libcurl) or AsyncHTTPClient: the deny list
/// must judge the address a connection actually goes to. URLSession resolves inside libcurl with no hook, so a
/// check before the request resolves the name a second time (a DNS answer can change in between) and cannot see
/// every address libcurl tries. `CURLOPT_OPENSOCKETFUNCTION` hands us each exact `sockaddr` before its socket
/// exists; refusing there means no packet is sent, for every address of a name and for happy eyeballs alike.
/// AsyncHTTPClient has no resolver hook either and would add swift-nio-ssl/BoringSSL to the executable's build.
///
/// This file is the only one that calls libcurl (through `CCurl`'s typed wrappers of its variadic setters).
final class CurlTransport: Sendable {
    struct Request: Sendable {
        var url: String
        var method: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]?
        var timeout: TimeSpan
        var deny: HTTPDenyList
        /// Response body bytes kept; the transfer stops once it has them.
        var bodyLimit: Int
    }

    private struct Inbox {
        var added: [Transfer] = []
        var cancelled: [UInt64] = []
        var closed = false
    }

    private let inbox = Mutex(Inbox())
    private let multi: Multi
    private let nextID = Atomic<UInt64>(0)

    /// The multi handle. `@unchecked Sendable`: after `init` only the driver thread calls libcurl with it, except
    /// `curl_multi_wakeup`, which libcurl documents as callable from any thread.
    private final class Multi: @unchecked Sendable {  // safe: only the driver thread uses it after init (see above)
        let handle: UnsafeMutableRawPointer
        init(_ handle: UnsafeMutableRawPointer) { self.handle = handle }
    }

    static let globalInit: Bool = baton_curl_global_init() == CURLE_OK

    init(maximumConnectionsPerHost: Int) {
        _ = CurlTransport.globalInit
        guard let handle = curl_multi_init() else { preconditionFailure("curl_multi_init failed (out of memory)") }
        _ = baton_curl_multi_set_long(handle, CURLMOPT_MAX_HOST_CONNECTIONS, max(1, maximumConnectionsPerHost))
        multi = Multi(handle)
        let thread = Thread { [self] in drive() }
        thread.name = "baton-http"
        thread.start()
    }

    /// Ends every transfer (their callers get a failure) and stops the driver thread.
    func close() {
        inbox.withLock { $0.closed = true }
        curl_multi_wakeup(multi.handle)
    }

    func perform(_ request: Request) async -> HTTPExchange {
        let id = nextID.add(1, ordering: .relaxed).newValue
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<HTTPExchange, Never>) in
                let transfer: Transfer
                do throws(Transfer.SetupError) {
                    transfer = try Transfer(id: id, request: request, continuation: continuation)
                } catch {
                    continuation.resume(returning: .failure("request_failed: \(error.message)", timedOut: false))
                    return
                }
                // Checked under the inbox lock that `onCancel` also takes, so a cancel is never lost in between.
                let refusal = inbox.withLock { inbox -> HTTPExchange? in
                    if inbox.closed { return .failure("request_failed: the HTTP transport is closed", timedOut: false) }
                    if Task.isCancelled { return .failure("cancelled", timedOut: false) }
                    inbox.added.append(transfer)
                    return nil
                }
                if let refusal {
                    transfer.finish(refusal)
                } else {
                    curl_multi_wakeup(multi.handle)
                }
            }
        } onCancel: {
            inbox.withLock { $0.cancelled.append(id) }
            curl_multi_wakeup(multi.handle)
        }
    }

    // MARK: The driver thread

    private func drive() {
        var active: [UInt64: Transfer] = [:]
        var byHandle: [UnsafeMutableRawPointer: UInt64] = [:]
        func remove(_ id: UInt64, _ exchange: HTTPExchange) {
            guard let transfer = active.removeValue(forKey: id) else { return }
            byHandle[transfer.handle] = nil
            curl_multi_remove_handle(multi.handle, transfer.handle)
            transfer.finish(exchange)
        }
        while true {
            let (added, cancelled, closed) = inbox.withLock { inbox in
                defer {
                    inbox.added = []
                    inbox.cancelled = []
                }
                return (inbox.added, inbox.cancelled, inbox.closed)
            }
            for transfer in added {
                if curl_multi_add_handle(multi.handle, transfer.handle) == CURLM_OK {
                    active[transfer.id] = transfer
                    byHandle[transfer.handle] = transfer.id
                } else {
                    transfer.finish(.failure("request_failed: libcurl refused the transfer", timedOut: false))
                }
            }
            for id in cancelled { remove(id, .failure("cancelled", timedOut: false)) }
            if closed {
                for id in Array(active.keys) { remove(id, .failure("request_failed: the HTTP transport is closed", timedOut: false)) }
                break
            }
            var running: Int32 = 0
            curl_multi_perform(multi.handle, &running)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi.handle, &queued) {
                var handle: UnsafeMutableRawPointer?
                var code = CURLE_OK
                guard baton_curl_message_done(message, &handle, &code) != 0, let handle, let id = byHandle[handle],
                    let transfer = active[id]
                else { continue }
                remove(id, transfer.exchange(code))
            }
            // Sleeps until a socket is ready, a curl timer is due, or `curl_multi_wakeup` (new work, cancel, close).
            curl_multi_poll(multi.handle, nil, 0, 1000, nil)
        }
        curl_multi_cleanup(multi.handle)
    }
}

/// One request's easy handle and what its callbacks collect.
///
/// `@unchecked Sendable`: it is built by the requesting task, handed to the driver thread through the inbox's
/// mutex (which orders the handoff), and from then on only the driver thread touches it (libcurl invokes the
/// callbacks on the thread that calls `curl_multi_perform`). `finish` runs once, on whichever side ends it.
private final class Transfer: @unchecked Sendable {  // safe: one owner at a time, handed over under the inbox lock (see above)
    struct SetupError: Error {
        var message: String
    }

    let id: UInt64
    let handle: UnsafeMutableRawPointer
    private let headers: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var continuation: CheckedContinuation<HTTPExchange, Never>?
    private let deny: HTTPDenyList
    private let bodyLimit: Int
    private let timeout: TimeSpan
    private(set) var body: [UInt8] = []
    /// Set when the body limit was reached and the write callback stopped the transfer on purpose.
    private var bodyComplete = false
    /// Addresses the open-socket callback refused, with the range that refused each.
    private var refused: [(IPAddress, AddressRange?)] = []

    init(id: UInt64, request: CurlTransport.Request, continuation: CheckedContinuation<HTTPExchange, Never>) throws(SetupError) {
        guard let handle = curl_easy_init() else { throw SetupError(message: "curl_easy_init failed") }
        self.id = id
        self.handle = handle
        self.continuation = continuation
        self.deny = request.deny
        self.bodyLimit = request.bodyLimit
        self.timeout = request.timeout
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))

        var list: UnsafeMutablePointer<curl_slist>?
        var badHeader: String?
        // "Expect:" turns off libcurl's 100-continue wait on larger bodies; the server gets the body at once.
        for line in request.headers.map({ $0.value.isEmpty ? "\($0.name);" : "\($0.name): \($0.value)" }) + ["Expect:"] {
            // Validated specs never hold these; a line break would inject a header, a NUL would cut the line.
            if line.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 }) {
                badHeader = line.split(separator: ":").first.map(String.init)
            }
            list = curl_slist_append(list, line)
        }
        headers = list

        func check(_ code: CURLcode, _ what: String) throws(SetupError) {
            guard code == CURLE_OK else { throw SetupError(message: "\(what): \(String(cString: curl_easy_strerror(code)))") }
        }
        do throws(SetupError) {
            if let badHeader { throw SetupError(message: "header \(badHeader) contains a line break") }
            try check(baton_curl_set_string(handle, CURLOPT_URL, request.url), "url")
            try check(baton_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"), "protocols")
            try check(baton_curl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0), "redirects")
            // An empty proxy overrides http_proxy & co. from the environment: a proxy would connect for us,
            // to an address the deny list never sees.
            try check(baton_curl_set_string(handle, CURLOPT_PROXY, ""), "proxy")
            try check(baton_curl_set_long(handle, CURLOPT_NOSIGNAL, 1), "nosignal")
            try check(baton_curl_set_long(handle, CURLOPT_TIMEOUT_MS, max(1, Int(clamping: request.timeout.milliseconds))), "timeout")
            try check(baton_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer), "error buffer")
            try check(baton_curl_set_headers(handle, list), "headers")
            let method = request.method.uppercased()
            if method == "HEAD" {
                try check(baton_curl_set_long(handle, CURLOPT_NOBODY, 1), "method")
            } else if request.body != nil || ["POST", "PUT", "PATCH"].contains(method) {
                // Sent with Content-Length (0 for an empty POST, as servers expect).
                let body = request.body ?? []
                try check(baton_curl_set_long(handle, CURLOPT_POSTFIELDSIZE, body.count), "body size")
                if body.isEmpty {
                    try check(baton_curl_set_string(handle, CURLOPT_COPYPOSTFIELDS, ""), "body")
                } else {
                    try body.withUnsafeBufferPointer { buffer throws(SetupError) in
                        try check(baton_curl_set_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress)), "body")
                    }
                }
            }
            if method != "GET" && method != "HEAD" && method != "POST" {
                try check(baton_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, method), "method")
            } else if method == "GET" && request.body != nil {
                try check(baton_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, "GET"), "method")
            }
            let context = Unmanaged.passUnretained(self).toOpaque()
            try check(baton_curl_set_write(handle, Transfer.write, context), "write callback")
            try check(baton_curl_set_open_socket(handle, Transfer.openSocket, context), "open-socket callback")
        } catch {
            self.continuation = nil
            release()
            throw error
        }
    }

    deinit {
        release()
        errorBuffer.deallocate()
    }

    private var released = false

    private func release() {
        guard !released else { return }
        released = true
        curl_easy_cleanup(handle)
        curl_slist_free_all(headers)
    }

    func finish(_ exchange: HTTPExchange) {
        guard let continuation else { return }
        self.continuation = nil
        release()
        continuation.resume(returning: exchange)
    }

    /// What a finished transfer amounts to.
    func exchange(_ code: CURLcode) -> HTTPExchange {
        let status = Int(baton_curl_response_code(handle))
        if code == CURLE_OK || (code == CURLE_WRITE_ERROR && bodyComplete && status > 0) {
            return .response(status: status, body: body)
        }
        if !refused.isEmpty {
            let addresses = refused.map { address, range in
                range.map { "\(address) (in \($0))" } ?? "\(address) (not an IP socket)"
            }
            let joined = Array(Set(addresses)).sorted().joined(separator: ", ")
            return .failure(
                "address_denied: refused to connect to \(joined); BATON_HTTP_DENY lists the ranges HTTP actions may not reach",
                timedOut: false)
        }
        let detail = String(cString: errorBuffer)
        let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        if code == CURLE_OPERATION_TIMEDOUT {
            return .failure("timeout: \(text)", timedOut: true)
        }
        return .failure("request_failed: \(text)", timedOut: false)
    }

    private static let write: baton_curl_write_callback = { data, size, count, context in
        guard let context else { return 0 }
        let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
        let total = size * count
        let room = transfer.bodyLimit - transfer.body.count
        guard let data, total > 0 else { return total }
        let kept = min(room, total)
        if kept > 0 {
            data.withMemoryRebound(to: UInt8.self, capacity: kept) { transfer.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: kept)) }
        }
        if kept < total {
            // Enough kept: stop downloading the rest (libcurl ends the transfer with CURLE_WRITE_ERROR).
            transfer.bodyComplete = true
            return 0
        }
        return total
    }

    /// The deny check, on the exact address libcurl is about to connect to. Refusing returns CURL_SOCKET_BAD,
    /// before any socket exists: libcurl tries the name's next address, or fails the transfer.
    private static let openSocket: baton_curl_open_socket_callback = { context, purpose, address in
        guard let context, let address else { return CURL_SOCKET_BAD }
        let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
        let offset = MemoryLayout<curl_sockaddr>.offset(of: \curl_sockaddr.addr) ?? 16
        let socketAddress = UnsafeRawPointer(address) + offset
        guard purpose == CURLSOCKTYPE_IPCXN, let ip = IPAddress(socketAddress: socketAddress) else {
            // Not an IPv4/IPv6 connection we can judge: fail closed.
            transfer.refused.append((IPAddress(ipv4: 0), nil))
            return CURL_SOCKET_BAD
        }
        if let range = transfer.deny.denyingRange(for: ip) {
            transfer.refused.append((ip, range))
            return CURL_SOCKET_BAD
        }
        return baton_open_socket(address.pointee.family, address.pointee.socktype, address.pointee.`protocol`)
    }
}
