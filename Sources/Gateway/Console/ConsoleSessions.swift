import BatonCore
import Synchronization

/// The console's sign-ins: a random id (the cookie) mapped to what the token presented at sign-in may do, and the
/// session's CSRF token. Held in this process's memory only, so a restart signs everyone out, and bounded: at most
/// `capacity` sessions, each living `lifetime` from sign-in; when full, the one closest to expiry makes room.
final class ConsoleSessions: Sendable {
    struct Session: Sendable, Equatable {
        let id: String
        let role: AccessRole
        /// Sent back in every state-changing form; compared in constant time.
        let csrf: String
        let expiresAt: Timestamp
    }

    static let lifetime = TimeSpan.hours(12)

    let capacity: Int
    private let sessions = Mutex<[String: Session]>([:])

    init(capacity: Int = 1024) {
        self.capacity = max(1, capacity)
    }

    func open(role: AccessRole, now: Timestamp) -> Session {
        let session = Session(
            id: Self.randomHex(bytes: 32), role: role, csrf: Self.randomHex(bytes: 32), expiresAt: now + Self.lifetime)
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expiresAt > now }
            if sessions.count >= capacity, let oldest = sessions.min(by: { $0.value.expiresAt < $1.value.expiresAt }) {
                sessions.removeValue(forKey: oldest.key)
            }
            sessions[session.id] = session
        }
        return session
    }

    /// The live session with this id. The lookup is a hash probe, not a constant-time comparison: an id is 256
    /// random bits, so learning how a probe went tells a guesser nothing useful.
    func session(id: String, now: Timestamp) -> Session? {
        sessions.withLock { sessions in
            guard let session = sessions[id] else { return nil }
            guard session.expiresAt > now else {
                sessions.removeValue(forKey: id)
                return nil
            }
            return session
        }
    }

    func close(id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    var count: Int { sessions.withLock { $0.count } }

    /// `bytes` bytes from the system's cryptographically secure generator (getrandom on Linux), as lowercase hex.
    static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes * 2)
        for _ in 0..<bytes {
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
