import Foundation

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
///
/// Its exit and its output are watched by the process's one ``ChildWatcher`` thread, not by threads of its own.
struct ChildProcess: Sendable {
    let pid: pid_t
    /// Fulfilled by the watcher when the child exits.
    let exit: OneShot<Termination>
    /// The last 4 KiB of combined stdout and stderr.
    let output: OutputTail
    /// Fulfilled by ``release(killingGroup:)``; the watcher reaps the leader only then.
    private let released: OneShot<Bool>
    private let watcher: ChildWatcher
    private let id: UInt64

    struct SpawnError: Error, CustomStringConvertible {
        var description: String

        init(description: String) {
            self.description = description
        }

        init(_ call: String) {
            description = "\(call): \(String(cString: strerror(errno)))"
        }
    }

    static func spawn(executable: String, argv: [String], environment: [String: String], cwd: String?) throws(SpawnError) -> ChildProcess {
        // Baton runs commands on Debian 12 only (Linux 6.1, glibc 2.36), where pidfd_open exists; without it the
        // watcher cannot learn of an exit without reaping, so the spawn fails rather than falling back to a thread
        // per child that no supported platform would ever run or test.
        guard let pidfdOpen = GNULibc.pidfdOpen else {
            throw SpawnError(description: "this C library has no pidfd_open (glibc 2.36 or later is required, as on Debian 12)")
        }
        let watcher = try ChildWatcher.shared()
        // Close-on-exec from the start, so no process spawned meanwhile by another thread inherits either end.
        let fds = try GNULibc.pipe(flags: O_CLOEXEC)
        // Only our end: the child's stdout stays blocking, as programs expect.
        _ = fcntl(fds.read, F_SETFL, fcntl(fds.read, F_GETFL) | O_NONBLOCK)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds.write, 1)
        posix_spawn_file_actions_adddup2(&actions, fds.write, 2)
        _ = GNULibc.addClosefrom?(&actions, 3)
        if let cwd {
            guard let addChdir = GNULibc.addChdir else {
                close(fds.read)
                close(fds.write)
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
        close(fds.write)
        guard status == 0 else {
            close(fds.read)
            throw SpawnError(description: String(cString: strerror(status)))
        }
        let pidfd = pidfdOpen(pid, 0)
        guard pidfd >= 0 else {
            let error = SpawnError("pidfd_open")
            // Unwatchable: end it now. It is unreaped, so its group is still its own; the wait is for a SIGKILLed child.
            kill(-pid, SIGKILL)
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
            close(fds.read)
            throw error
        }

        let exit = OneShot<Termination>()
        let tail = OneShot<[UInt8]>()
        let id = watcher.watch(pid: pid, pidfd: pidfd, output: fds.read, exit: exit, tail: tail)
        return ChildProcess(
            pid: pid, exit: exit, output: OutputTail(result: tail, watcher: watcher, id: id), released: OneShot(), watcher: watcher, id: id)
    }

    static func termination(_ info: siginfo_t) -> Termination {
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
        guard released.value == nil else { return }
        kill(-pid, number)
    }

    /// Ends the caller's use of the child: once the leader has exited, SIGKILLs what is left of its process group
    /// when `killingGroup` (background children, processes that ignored SIGTERM), then reaps the leader.
    /// Does not wait; call it exactly once, after the last ``signal(_:)``.
    func release(killingGroup: Bool) {
        if released.fulfil(killingGroup) { watcher.release(id, killingGroup: killingGroup) }
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

/// The last 4 KiB of a child's combined output, read by the ``ChildWatcher``.
///
/// After the child exits, a grandchild may still hold the pipe open; ``finish()`` then waits a short moment
/// (``ChildWatcher/drainAfterExit``) for end-of-file and returns what it has, rather than waiting for the grandchild.
struct OutputTail: Sendable {
    fileprivate let result: OneShot<[UInt8]>
    fileprivate let watcher: ChildWatcher
    fileprivate let id: UInt64

    /// Called once the child has exited: the output so far, up to the last 4 KiB.
    func finish() async -> [UInt8] {
        watcher.finish(id)
        return await result.wait() ?? []
    }
}

/// glibc functions looked up at run time because Swift's Glibc module does not export them: the GNU extensions to
/// posix_spawn, `pipe2` (atomic close-on-exec), `pidfd_open` (glibc 2.36) and `pthread_setname_np`.
enum GNULibc {
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    typealias PidfdOpen = @convention(c) (pid_t, UInt32) -> Int32
    typealias SetThreadName = @convention(c) (pthread_t, UnsafePointer<CChar>?) -> Int32

    static let addChdir: AddChdir? = symbol("posix_spawn_file_actions_addchdir_np")
    static let addClosefrom: AddClosefrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    static let pidfdOpen: PidfdOpen? = symbol("pidfd_open")
    static let setThreadName: SetThreadName? = symbol("pthread_setname_np")
    private static let pipe2: Pipe2? = symbol("pipe2")

    /// A pipe whose two ends get `flags` (O_CLOEXEC, O_NONBLOCK) atomically with their creation.
    static func pipe(flags: Int32) throws(ChildProcess.SpawnError) -> (read: Int32, write: Int32) {
        guard let pipe2 else { throw ChildProcess.SpawnError(description: "this C library has no pipe2") }
        var fds: [Int32] = [-1, -1]
        guard pipe2(&fds, flags) == 0 else { throw ChildProcess.SpawnError("pipe2") }
        return (fds[0], fds[1])
    }

    private static func symbol<T>(_ name: String) -> T? {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(address, to: T.self)
    }
}
