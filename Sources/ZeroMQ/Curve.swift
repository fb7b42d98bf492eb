import CZeroMQ

/// What this libzmq was built with, e.g. `ZMQCapability.has("curve")` (`zmq_has`).
public enum ZMQCapability {
    /// Whether the library supports `capability` (`ipc`, `pgm`, `tipc`, `norm`, `curve`, `gssapi`, `draft`).
    public static func has(_ capability: String) -> Bool {
        zmq_has(capability) != 0
    }

    /// CURVE needs libzmq built with libsodium (or its bundled tweetnacl); Debian's is.
    public static var curve: Bool { has("curve") }
}

/// A CURVE public key (Curve25519), written as 40 characters of Z85 (ZeroMQ RFC 32).
///
/// Public keys are not secret: they appear in allow lists, logs and `baton dispatch-keys` output.
public struct CurvePublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The 32 raw bytes, as libzmq reports them in a ZAP request.
    public let bytes: [UInt8]

    /// Parses a Z85 key; nil unless `z85` is exactly 40 characters of the Z85 alphabet.
    public init?(z85: String) {
        guard let bytes = Z85.decodeKey(z85) else { return nil }
        self.bytes = bytes
    }

    init(raw bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Wraps 32 raw bytes (nil for any other length).
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    public var z85: String { Z85.encode(bytes) }
    public var description: String { z85 }
}

/// A CURVE secret key. Its `description` never shows the key, so interpolating it into a log line or an
/// error message cannot leak it; ``z85`` is the one deliberate way to read it (to write a key file).
public struct CurveSecretKey: Sendable, Hashable, CustomStringConvertible {
    let bytes: [UInt8]

    /// Parses a Z85 key; nil unless `z85` is exactly 40 characters of the Z85 alphabet.
    public init?(z85: String) {
        guard let bytes = Z85.decodeKey(z85) else { return nil }
        self.bytes = bytes
    }

    public var z85: String { Z85.encode(bytes) }
    public var description: String { "<CURVE secret key>" }

    /// The matching public key (`zmq_curve_public`).
    public var publicKey: CurvePublicKey {
        var secret = Array(z85.utf8CString)
        var output = [CChar](repeating: 0, count: 41)
        let result = zmq_curve_public(&output, &secret)
        // Cannot fail for a well-formed key on a CURVE-capable libzmq; all zeros would then be refused by every peer.
        let text = result == 0 ? String(decoding: output.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        return CurvePublicKey(z85: text) ?? CurvePublicKey(raw: [UInt8](repeating: 0, count: 32))
    }
}

/// A CURVE key pair: the scheduler's (server) or an executor's or gateway's (client).
public struct CurveKeyPair: Sendable, Hashable, CustomStringConvertible {
    public let publicKey: CurvePublicKey
    public let secretKey: CurveSecretKey

    /// The pair belonging to `secretKey` (the public half is derived, so the two can never disagree).
    public init(secretKey: CurveSecretKey) {
        self.secretKey = secretKey
        self.publicKey = secretKey.publicKey
    }

    /// A fresh random pair (`zmq_curve_keypair`, libsodium's random source).
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        try zmqCall("zmq_curve_keypair") { zmq_curve_keypair(&publicText, &secretText) }
        let secret = String(decoding: secretText.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let secretKey = CurveSecretKey(z85: secret) else {
            throw ZMQError(.invalidArgument, operation: "zmq_curve_keypair")
        }
        return CurveKeyPair(secretKey: secretKey)
    }

    public var description: String { "CurveKeyPair(public: \(publicKey.z85))" }
}

enum Z85 {
    static func decodeKey(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 40, utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        var output = [UInt8](repeating: 0, count: 32)
        let decoded = (utf8.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer { input in
            zmq_z85_decode(&output, input.baseAddress) != nil
        }
        return decoded ? output : nil
    }

    static func encode(_ bytes: [UInt8]) -> String {
        var output = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
        _ = zmq_z85_encode(&output, bytes, bytes.count)
        return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension ZMQSocket {
    /// Makes this (ROUTER) socket a CURVE server: peers must complete a CURVE handshake against `keyPair`, and,
    /// with a ``ZMQSocketLoop`` given an allow list, present a listed client key. Call before `bind`.
    public func useCurveServer(_ keyPair: CurveKeyPair, zapDomain: String = "baton") throws(ZMQError) {
        try set(.curveServer, true)
        try set(.curveSecretKey, keyPair.secretKey.bytes)
        // A non-empty domain makes libzmq consult the ZAP handler for every connection (RFC 27).
        try set(.zapDomain, Array(zapDomain.utf8))
    }

    /// Makes this socket a CURVE client of a server whose public key is `serverKey`, presenting `keyPair`.
    /// Call before `connect`.
    public func useCurveClient(_ keyPair: CurveKeyPair, serverKey: CurvePublicKey) throws(ZMQError) {
        try set(.curveServerKey, serverKey.bytes)
        try set(.curvePublicKey, keyPair.publicKey.bytes)
        try set(.curveSecretKey, keyPair.secretKey.bytes)
    }
}
