/// The CURVE client keys a server accepts, enforced by a ZAP handler (ZeroMQ RFC 27) that
/// ``ZMQSocketLoop`` runs on its own thread when given one.
///
/// CURVE alone only proves that a client knows the server's public key, which is not a secret; the allow list
/// is what keeps strangers out. libzmq asks the handler about every CURVE handshake on a socket with a ZAP
/// domain (``ZMQSocket/useCurveServer(_:zapDomain:)`` sets one), and a refused client's connection is closed
/// before any of its messages reach the application.
public struct CurveAllowList: Sendable, Equatable {
    public var keys: Set<CurvePublicKey>

    public init(_ keys: some Sequence<CurvePublicKey>) {
        self.keys = Set(keys)
    }

    /// The answer to one ZAP request: the reply frames and, for the caller's log, what was decided.
    struct Decision: Equatable {
        var reply: [[UInt8]]
        var accepted: Bool
        var address: String
        var clientKey: CurvePublicKey?
    }

    /// Answers a ZAP request as received by a REP socket (the empty delimiter already stripped):
    /// version, request id, domain, address, routing id, mechanism, credentials… Only `CURVE` with a listed
    /// key gets 200; anything else (another mechanism, an unknown key, a malformed request) is refused.
    func answer(_ request: [[UInt8]]) -> Decision {
        let version = Array("1.0".utf8)
        let requestID = request.count > 1 ? request[1] : []
        func reply(_ code: String, _ text: String, user: String = "") -> [[UInt8]] {
            [version, requestID, Array(code.utf8), Array(text.utf8), Array(user.utf8), []]
        }
        guard request.count >= 6, request[0] == version else {
            return Decision(reply: reply("500", "malformed ZAP request"), accepted: false, address: "", clientKey: nil)
        }
        let address = String(decoding: request[3].prefix(64), as: UTF8.self)
        guard request[5] == Array("CURVE".utf8), request.count >= 7, let key = CurvePublicKey(bytes: request[6]) else {
            return Decision(reply: reply("400", "CURVE required"), accepted: false, address: address, clientKey: nil)
        }
        guard keys.contains(key) else {
            return Decision(reply: reply("400", "client key not allowed"), accepted: false, address: address, clientKey: key)
        }
        return Decision(reply: reply("200", "OK", user: key.z85), accepted: true, address: address, clientKey: key)
    }
}
