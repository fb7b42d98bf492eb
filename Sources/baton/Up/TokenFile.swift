import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The API token `baton up` gives its gateway and `baton jobs` reads (`DATA/token`): readable by its owner
/// only, from the moment it exists.
///
/// An existing file is reused only when it is a regular file of ours that no one else may read; anything
/// else (group or world bits, another owner, a symlink someone planted) may have leaked its token or may
/// have been chosen by someone else, so it is replaced with a fresh token. A fresh token is written to a
/// new file opened `O_CREAT | O_EXCL | O_NOFOLLOW` with mode 0600 (so nothing existing is written through,
/// and the umask cannot widen it), then renamed over `DATA/token`, which is atomic: a reader sees the old
/// file or the complete new one.
enum TokenFile {
    struct Loaded: Equatable {
        var token: String
        /// Why an existing file was not reused (nil when it was, or when there was none).
        var replaced: String?
        var created: Bool
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func load(orCreateAt path: String) throws(Failure) -> Loaded {
        var info = stat()
        if lstat(path, &info) == 0 {
            let problem = reuseProblem(info)
            if problem == nil, let token = readToken(path) {
                return Loaded(token: token, replaced: nil, created: false)
            }
            let token = try store(fresh(), at: path)
            return Loaded(token: token, replaced: problem ?? "it held no token", created: true)
        }
        guard errno == ENOENT else { throw Failure(description: "cannot inspect \(path): \(String(cString: strerror(errno)))") }
        return Loaded(token: try store(fresh(), at: path), replaced: nil, created: true)
    }

    /// Nil when a file with this status may be reused.
    static func reuseProblem(_ info: stat) -> String? {
        if info.st_mode & S_IFMT != S_IFREG { return "it is not a regular file" }
        if info.st_uid != geteuid() { return "it belongs to another user" }
        if info.st_mode & 0o077 != 0 { return "its mode \(String(info.st_mode & 0o777, radix: 8)) lets others read it" }
        return nil
    }

    static func readToken(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let printable = token.utf8.allSatisfy { (0x21...0x7e).contains($0) }
        return token.isEmpty || !printable ? nil : token
    }

    /// 32 random bytes as hex.
    static func fresh() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    static func store(_ token: String, at path: String) throws(Failure) -> String {
        let temporary = "\(path).\(UUID().uuidString).tmp"
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        // errno is read at the failing call, before close or unlink can change it.
        var failure: String?
        func check(_ succeeded: Bool, _ what: String) {
            if failure == nil, !succeeded { failure = "\(what): \(String(cString: strerror(errno)))" }
        }
        // The mode given to open is narrowed by the umask, never widened; fchmod makes it exactly 0600.
        check(fchmod(fd, 0o600) == 0, "cannot set the mode of \(temporary)")
        let bytes = Array((token + "\n").utf8)
        if failure == nil {
            check(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count, "cannot write \(temporary)")
        }
        if failure == nil { check(fsync(fd) == 0, "cannot sync \(temporary)") }
        close(fd)
        if failure == nil { check(rename(temporary, path) == 0, "cannot move the token into \(path)") }
        if let failure {
            unlink(temporary)
            throw Failure(description: failure)
        }
        return token
    }
}
