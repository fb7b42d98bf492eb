import HTTPTypes

/// What a presented token may do: the API's bearer check and the console's sign-in ask the same question.
enum AccessRole: String, Sendable {
    /// `BATON_API_TOKEN`: everything.
    case full
    /// `BATON_API_READ_TOKEN`: look, never change (GET and HEAD only).
    case readOnly = "read-only"

    /// Whether this role may send `method`. The read-only role gets the two methods that cannot change anything;
    /// OPTIONS is refused too, since the gateway serves nothing on it.
    func allows(_ method: HTTPRequest.Method) -> Bool {
        self == .full || method == .get || method == .head
    }
}

/// The configured tokens, compared in constant time.
struct APITokens: Sendable {
    let full: [UInt8]
    let read: [UInt8]?

    init(full: String, read: String?) {
        self.full = Array(full.utf8)
        self.read = read.map { Array($0.utf8) }
    }

    /// The role `presented` grants, or nil. Both tokens are always compared, so the time taken does not tell which
    /// one came closer.
    func role(of presented: some Collection<UInt8>) -> AccessRole? {
        let bytes = Array(presented)
        let isFull = Self.constantTimeEqual(bytes, full)
        let isRead = read.map { Self.constantTimeEqual(bytes, $0) } ?? false
        if isFull { return .full }
        return isRead ? .readOnly : nil
    }

    /// Compares without an early exit, so the time taken does not reveal how many leading bytes matched.
    /// Only the length can leak, which a token's length does not help guess.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0 && a.count == b.count
    }
}
