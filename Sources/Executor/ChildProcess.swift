import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A command's child process, started with `posix_spawn` rather than `Foundation.Process` because the executor
/// needs what Process cannot give:
/// - default signal dispositions and an empty mask in the child. ServiceLifecycle ignores SIGTERM/SIGINT in our
///   process to receive them through Dispatch, and ignored signals survive `exec`: a Process child would ignore
///   the timeout's SIGTERM.
/// - its own process group, so SIGTERM/SIGKILL reach the whole tree (`sh -c` and its children), not just the leader,
///   including what is left of it after the leader has exited.
/// - no inherited descriptors besides stdin (`/dev/null`) and one pipe for stdout and stderr.
struct ChildProcess: Sendable {
    let pid: pid_t
    /// Read end of the combined stdout/stderr pipe; owned by the caller.
    let output: Int32
    /// Fulfilled by a reaper thread when the child exits.
    let exit: OneShot<Termination>
    /// Fulfilled by ``release(killingGroup:)``; the reaper thread reaps the leader only then.
    private let release: ReleaseGate

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    static func spawn(executable: String, argv: [String], environment: [String: String], cwd: String?) throws(SpawnError) -> ChildProcess {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))") }
        // Close-on-exec so no other child spawned meanwhile inherits them (pipe2 is not exported to Swift).
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        _ = GNUSpawn.addClosefrom?(&actions, 3)
        if let cwd {
            guard let addChdir = GNUSpawn.addChdir else {
                close(fds[0])
                close(fds[1])
                throw SpawnError(description: "this C library cannot set a child's working directory (posix_spawn_file_actions_addchdir_np)")
            }
            _ = addChdir(&actions, cwd)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        let arguments = argv.map { strdup($0) } + [nil]
        let variables = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in arguments { free(pointer) }
            for pointer in variables { free(pointer) }
        }
        var spawned: pid_t = 0
        let status = posix_spawn(&spawned, executable, &actions, &attributes, arguments, variables)
        let pid = spawned
        close(fds[1])
        guard status == 0 else {
            close(fds[0])
            throw SpawnError(description: String(cString: strerror(status)))
        }

        let exit = OneShot<Termination>()
        let release = ReleaseGate()
        let reaper = Thread {
            // Learn of the exit without reaping: an unreaped (zombie) leader keeps its PID, and so the process
            // group's ID, from being reused, which makes signalling the group safe until `release`.
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 {
                guard errno == EINTR else {
                    exit.fulfil(Termination(status: -1, signaled: false))
                    return
                }
            }
            exit.fulfil(ChildProcess.termination(info))
            let killGroup = release.blockingWait()
            if killGroup { kill(-pid, SIGKILL) }
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        }
        reaper.name = "baton-command-reaper"
        reaper.start()
        return ChildProcess(pid: pid, output: fds[0], exit: exit, release: release)
    }

    private static func termination(_ info: siginfo_t) -> Termination {
        // For SIGCHLD, si_status is the exit code (CLD_EXITED) or the signal that ended the child.
        #if canImport(Glibc)
            let status = info._sifields._sigchld.si_status
        #else
            let status = info.si_status
        #endif
        return info.si_code == Int32(CLD_EXITED) ? Termination(status: status, signaled: false) : Termination(status: status, signaled: true)
    }

    /// Signals the child's whole process group. Safe until ``release(killingGroup:)``: the leader is not reaped
    /// before then, so the group ID cannot belong to anyone else, even after the leader has exited.
    func signal(_ number: Int32) {
        guard release.value == nil else { return }
        kill(-pid, number)
    }

    /// Ends the caller's use of the child: once the leader has exited, SIGKILLs what is left of its process group
    /// when `killingGroup` (background children, processes that ignored SIGTERM), then reaps the leader.
    /// Does not wait; call it exactly once, after the last ``signal(_:)``.
    func release(killingGroup: Bool) {
        release.fulfil(killingGroup)
    }

    /// Whether any process of the group other than the (exited, unreaped) leader is still alive, read from /proc:
    /// the group has no exit notification, and `kill(-pgid, 0)` counts the zombie leader as alive.
    func groupHasLiveMembers() -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return false }
        for entry in entries {
            guard let member = pid_t(entry), member != pid,
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // After "pid (comm)": state, ppid, pgrp, ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, fields[0] != "Z", pid_t(fields[2]) == pid { return true }
        }
        return false
    }
}

/// The caller's "done with the child" decision, awaited by the reaper thread (a blocking wait: it is a thread).
private final class ReleaseGate: Sendable {
    private let decision = Mutex<Bool?>(nil)
    private let semaphore = DispatchSemaphore(value: 0)

    var value: Bool? { decision.withLock { $0 } }

    func fulfil(_ killGroup: Bool) {
        let first = decision.withLock { decision -> Bool in
            guard decision == nil else { return false }
            decision = killGroup
            return true
        }
        if first { semaphore.signal() }
    }

    func blockingWait() -> Bool {
        semaphore.wait()
        return decision.withLock { $0 } ?? true
    }
}

/// glibc's GNU extensions to posix_spawn, looked up at run time because Swift's Glibc module does not export them.
private enum GNUSpawn {
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    static let addChdir: AddChdir? = symbol("posix_spawn_file_actions_addchdir_np")
    static let addClosefrom: AddClosefrom? = symbol("posix_spawn_file_actions_addclosefrom_np")

    private static func symbol<T>(_ name: String) -> T? {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(address, to: T.self)
    }
}
