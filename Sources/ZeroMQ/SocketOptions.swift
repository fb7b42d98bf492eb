import CZeroMQ

/// A readable and writable socket option whose value type is fixed at compile time, so
/// `socket.set(.sendHighWaterMark, 1000)` cannot pass a value of the wrong width to libzmq.
public struct ZMQSocketOption<Value>: Sendable {
    let code: Int32
    let name: String
}

/// A socket option libzmq only lets you set (reading it fails with `EINVAL`).
public struct ZMQWriteOnlySocketOption<Value>: Sendable {
    let code: Int32
    let name: String
}

extension ZMQSocketOption where Value == Int32 {
    /// Milliseconds `close` keeps undelivered messages (-1 forever). Sockets start at 0.
    public static var linger: Self { .init(code: ZMQ_LINGER, name: "ZMQ_LINGER") }
    /// Outbound queue limit in messages per peer; beyond it sends block or fail with `EAGAIN`.
    public static var sendHighWaterMark: Self { .init(code: ZMQ_SNDHWM, name: "ZMQ_SNDHWM") }
    /// Inbound queue limit in messages per peer; beyond it the peer is throttled.
    public static var receiveHighWaterMark: Self { .init(code: ZMQ_RCVHWM, name: "ZMQ_RCVHWM") }
    /// Milliseconds a blocking receive waits before returning `nil` (-1 forever).
    public static var receiveTimeout: Self { .init(code: ZMQ_RCVTIMEO, name: "ZMQ_RCVTIMEO") }
    /// Milliseconds a blocking send waits before returning `false` (-1 forever).
    public static var sendTimeout: Self { .init(code: ZMQ_SNDTIMEO, name: "ZMQ_SNDTIMEO") }
    /// Milliseconds between reconnect attempts to a vanished peer.
    public static var reconnectInterval: Self { .init(code: ZMQ_RECONNECT_IVL, name: "ZMQ_RECONNECT_IVL") }
    /// Milliseconds between ZMTP heartbeat PINGs (0 disables); detects dead TCP peers.
    public static var heartbeatInterval: Self { .init(code: ZMQ_HEARTBEAT_IVL, name: "ZMQ_HEARTBEAT_IVL") }
    /// Milliseconds without traffic after a PING before the connection is dropped
    /// (-1 means "same as the interval").
    public static var heartbeatTimeout: Self { .init(code: ZMQ_HEARTBEAT_TIMEOUT, name: "ZMQ_HEARTBEAT_TIMEOUT") }
}

extension ZMQSocketOption where Value == Int64 {
    /// Largest inbound frame in bytes (-1 unlimited). A peer that sends more is
    /// disconnected and the frame is never delivered — Baton's 1 MiB message limit.
    public static var maxMessageSize: Self { .init(code: ZMQ_MAXMSGSIZE, name: "ZMQ_MAXMSGSIZE") }
}

extension ZMQSocketOption where Value == Bool {
    /// Queue messages only to completed connections, so a send to a peer that is not up
    /// yet blocks or fails instead of silently waiting in a pipe.
    public static var immediate: Self { .init(code: ZMQ_IMMEDIATE, name: "ZMQ_IMMEDIATE") }
    /// Makes the socket the server side of CURVE handshakes (set with ``ZMQWriteOnlySocketOption/curveSecretKey``).
    public static var curveServer: Self { .init(code: ZMQ_CURVE_SERVER, name: "ZMQ_CURVE_SERVER") }
}

extension ZMQSocketOption where Value == [UInt8] {
    /// The routing id a DEALER presents to a ROUTER (1–255 bytes, first byte not 0);
    /// set it before `connect` so the ROUTER can address this peer by a stable name.
    public static var routingID: Self { .init(code: ZMQ_ROUTING_ID, name: "ZMQ_ROUTING_ID") }
}

extension ZMQWriteOnlySocketOption where Value == Bool {
    /// Makes a ROUTER throw ``ZMQError/Code/hostUnreachable`` for an unknown routing id
    /// instead of dropping the message silently, so undeliverable work is noticed.
    public static var routerMandatory: Self { .init(code: ZMQ_ROUTER_MANDATORY, name: "ZMQ_ROUTER_MANDATORY") }
}

extension ZMQWriteOnlySocketOption where Value == [UInt8] {
    /// This socket's long-term CURVE secret key, 32 raw bytes. Write-only here so no code path reads a secret back.
    public static var curveSecretKey: Self { .init(code: ZMQ_CURVE_SECRETKEY, name: "ZMQ_CURVE_SECRETKEY") }
    /// This (client) socket's long-term CURVE public key, 32 raw bytes.
    public static var curvePublicKey: Self { .init(code: ZMQ_CURVE_PUBLICKEY, name: "ZMQ_CURVE_PUBLICKEY") }
    /// The public key of the CURVE server a client connects to, 32 raw bytes; setting it makes the socket a client.
    public static var curveServerKey: Self { .init(code: ZMQ_CURVE_SERVERKEY, name: "ZMQ_CURVE_SERVERKEY") }
    /// The ZAP domain (RFC 27) sent with every authentication request; non-empty makes libzmq ask the ZAP handler.
    public static var zapDomain: Self { .init(code: ZMQ_ZAP_DOMAIN, name: "ZMQ_ZAP_DOMAIN") }
    /// Adds a topic prefix a SUB socket accepts (empty accepts everything).
    public static var subscribe: Self { .init(code: ZMQ_SUBSCRIBE, name: "ZMQ_SUBSCRIBE") }
    /// Removes a prefix previously added with ``subscribe``.
    public static var unsubscribe: Self { .init(code: ZMQ_UNSUBSCRIBE, name: "ZMQ_UNSUBSCRIBE") }
}

extension ZMQSocket {
    public func set(_ option: ZMQSocketOption<Int32>, _ value: Int32) throws(ZMQError) {
        try setRaw(option.code, option.name, value)
    }

    public func set(_ option: ZMQSocketOption<Int64>, _ value: Int64) throws(ZMQError) {
        try setRaw(option.code, option.name, value)
    }

    public func set(_ option: ZMQSocketOption<Bool>, _ value: Bool) throws(ZMQError) {
        try setRaw(option.code, option.name, Int32(value ? 1 : 0))
    }

    public func set(_ option: ZMQSocketOption<[UInt8]>, _ value: [UInt8]) throws(ZMQError) {
        try setBytes(option.code, option.name, value)
    }

    public func set(_ option: ZMQWriteOnlySocketOption<Bool>, _ value: Bool) throws(ZMQError) {
        try setRaw(option.code, option.name, Int32(value ? 1 : 0))
    }

    public func set(_ option: ZMQWriteOnlySocketOption<[UInt8]>, _ value: [UInt8]) throws(ZMQError) {
        try setBytes(option.code, option.name, value)
    }

    /// Shorthand for `set(.subscribe, prefix)`.
    public func subscribe(_ prefix: [UInt8] = []) throws(ZMQError) {
        try set(.subscribe, prefix)
    }

    public func get(_ option: ZMQSocketOption<Int32>) throws(ZMQError) -> Int32 {
        try getRaw(option.code, option.name, as: Int32.self)
    }

    public func get(_ option: ZMQSocketOption<Int64>) throws(ZMQError) -> Int64 {
        try getRaw(option.code, option.name, as: Int64.self)
    }

    public func get(_ option: ZMQSocketOption<Bool>) throws(ZMQError) -> Bool {
        try getRaw(option.code, option.name, as: Int32.self) != 0
    }

    public func get(_ option: ZMQSocketOption<[UInt8]>) throws(ZMQError) -> [UInt8] {
        let handle = try requireHandle("zmq_getsockopt(\(option.name))")
        var buffer = [UInt8](repeating: 0, count: 256)
        var length = buffer.count
        try zmqCall("zmq_getsockopt(\(option.name))") {
            zmq_getsockopt(handle, option.code, &buffer, &length)
        }
        return Array(buffer.prefix(length))
    }

    private func setRaw<T: FixedWidthInteger>(_ code: Int32, _ name: String, _ value: T) throws(ZMQError) {
        let handle = try requireHandle("zmq_setsockopt(\(name))")
        var value = value
        try zmqCall("zmq_setsockopt(\(name))") {
            zmq_setsockopt(handle, code, &value, MemoryLayout<T>.size)
        }
    }

    private func setBytes(_ code: Int32, _ name: String, _ value: [UInt8]) throws(ZMQError) {
        let handle = try requireHandle("zmq_setsockopt(\(name))")
        try zmqCall("zmq_setsockopt(\(name))") {
            value.withUnsafeBytes { zmq_setsockopt(handle, code, $0.baseAddress, $0.count) }
        }
    }

    private func getRaw<T: FixedWidthInteger>(_ code: Int32, _ name: String, as: T.Type) throws(ZMQError) -> T {
        let handle = try requireHandle("zmq_getsockopt(\(name))")
        var value = T.zero
        var length = MemoryLayout<T>.size
        try zmqCall("zmq_getsockopt(\(name))") {
            zmq_getsockopt(handle, code, &value, &length)
        }
        return value
    }
}
