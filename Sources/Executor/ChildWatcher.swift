import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The one thread that watches every running command's child: its exit, its output, and the caller's release.
///
/// Each command used to cost two OS threads, a reaper blocked in `waitid` and a reader polling the output pipe
/// every 50 ms; at the executor's capacity of 64 that was 128 threads, nearly all asleep. Here a single `poll(2)`
/// loop, started with the first command and never stopped, waits on a wake pipe (new children, release decisions,
/// `finish` requests), each child's pidfd (readable once the child has exited, without reaping it) and each child's
/// output pipe. Its timeout is the nearest output-drain deadline, so an idle executor's watcher does not wake at all.
///
/// The loop's per-child state (`Watched`) is a local of the thread's closure: only that thread ever touches it.
/// Other threads reach the loop only through `inbox` (a mutex) followed by a byte on the wake pipe.
final class ChildWatcher: Sendable {
    /// After ``OutputTail/finish()`` a grandchild may still hold the pipe open; its output is awaited this long at
    /// most (the leader has exited, so whatever it printed is in the pipe already).
    static let drainAfterExit = Duration.milliseconds(200)

    private enum Request: Sendable {
        case watch(id: UInt64, pid: pid_t, pidfd: Int32, output: Int32, exit: OneShot<Termination>, tail: OneShot<[UInt8]>)
        case release(id: UInt64, killingGroup: Bool)
        case finish(id: UInt64)
    }

    private struct Inbox {
        var requests: [Request] = []
        var nextID: UInt64 = 0
    }

    private let inbox = Mutex(Inbox())
    private let wakeRead: Int32
    private let wakeWrite: Int32

    private static let instance = Mutex<ChildWatcher?>(nil)

    /// The process's watcher, started by the first command. Not a `static let`: a failure to create it (no
    /// descriptors left) fails that one spawn and is retried by the next, rather than being cached for good.
    static func shared() throws(ChildProcess.SpawnError) -> ChildWatcher {
        try instance.withLock { (current) throws(ChildProcess.SpawnError) -> ChildWatcher in
            if let current { return current }
            let watcher = try ChildWatcher()
            let thread = Thread {
                // Foundation's `Thread.name` does not reach the kernel; this name shows in /proc and `top -H`.
                _ = GNULibc.setThreadName?(pthread_self(), "baton-commands")
                watcher.run()
            }
            thread.start()
            current = watcher
            return watcher
        }
    }

    private init() throws(ChildProcess.SpawnError) {
        // Non-blocking at both ends: a waker never blocks on a full pipe (it is readable already), and the loop
        // drains it without blocking.
        let ends = try GNULibc.pipe(flags: O_CLOEXEC | O_NONBLOCK)
        wakeRead = ends.read
        wakeWrite = ends.write
    }

    /// Starts watching a spawned child; `pidfd` and `output` (non-blocking) now belong to the watcher, which closes
    /// them when it has reaped the child and read its output to the end.
    func watch(pid: pid_t, pidfd: Int32, output: Int32, exit: OneShot<Termination>, tail: OneShot<[UInt8]>) -> UInt64 {
        let id = inbox.withLock { inbox in
            inbox.nextID += 1
            inbox.requests.append(.watch(id: inbox.nextID, pid: pid, pidfd: pidfd, output: output, exit: exit, tail: tail))
            return inbox.nextID
        }
        wake()
        return id
    }

    /// Reap the leader once it has exited (at once if it has), SIGKILLing what is left of its group first when asked.
    func release(_ id: UInt64, killingGroup: Bool) { send(.release(id: id, killingGroup: killingGroup)) }

    /// The leader has exited: read the output until end-of-file or ``drainAfterExit``, then deliver it.
    func finish(_ id: UInt64) { send(.finish(id: id)) }

    private func send(_ request: Request) {
        inbox.withLock { $0.requests.append(request) }
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        // EAGAIN means the pipe is full, so the loop is about to wake anyway.
        while write(wakeWrite, &byte, 1) < 0 && errno == EINTR {}
    }

    /// One child as the loop sees it.
    private struct Watched {
        let pid: pid_t
        /// Open until the leader is reaped.
        var pidfd: Int32
        /// Open until end-of-file or the drain deadline.
        var output: Int32
        let exit: OneShot<Termination>
        let tail: OneShot<[UInt8]>
        var exited = false
        /// The caller's decision; the leader is reaped only once both this and `exited` are known.
        var killingGroup: Bool?
        var drainDeadline: ContinuousClock.Instant?
        var kept: [UInt8] = []

        var done: Bool { pidfd < 0 && output < 0 }

        /// Learns the exit status without reaping: the zombie keeps the PID, and so the group ID, from being reused.
        /// WNOHANG so the shared thread can never block here, even if the pidfd woke it early.
        mutating func readExit() {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT | WNOHANG) < 0 {
                guard errno == EINTR else {
                    // Not our child any more (ECHILD: someone else reaped it); nothing left to reap either.
                    exited = true
                    exit.fulfil(Termination(status: -1, signaled: false))
                    close(pidfd)
                    pidfd = -1
                    return
                }
            }
            // With WNOHANG and no exit yet, the kernel leaves si_pid 0.
            #if canImport(Glibc)
                let exitedPID = info._sifields._sigchld.si_pid
            #else
                let exitedPID = info.si_pid
            #endif
            guard exitedPID != 0 else { return }
            exited = true
            exit.fulfil(ChildProcess.termination(info))
            reapIfReleased()
        }

        mutating func reapIfReleased() {
            guard exited, pidfd >= 0, let killingGroup else { return }
            // After the leader's exit and before its reap, the group ID is still only this group's.
            if killingGroup { kill(-pid, SIGKILL) }
            var raw: Int32 = 0
            // The leader is a zombie already: this returns at once.
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
            close(pidfd)
            pidfd = -1
        }

        mutating func readOutput(into buffer: inout [UInt8]) {
            // One read per wake-up, so a child that writes without pause cannot starve the others.
            let count = buffer.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if count > 0 {
                kept.append(contentsOf: buffer[0..<count])
                if kept.count > 2 * OutputLimit.bytes { kept.removeFirst(kept.count - OutputLimit.bytes) }
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                closeOutput()
            }
        }

        mutating func closeOutput() {
            guard output >= 0 else { return }
            close(output)
            output = -1
            tail.fulfil(Array(kept.suffix(OutputLimit.bytes)))
            kept = []
        }
    }

    private enum Source {
        case exit
        case output
    }

    private func run() -> Never {
        var children: [UInt64: Watched] = [:]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var descriptors: [pollfd] = []
        var sources: [(id: UInt64, source: Source)] = []
        let clock = ContinuousClock()
        while true {
            descriptors.removeAll(keepingCapacity: true)
            sources.removeAll(keepingCapacity: true)
            descriptors.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            var nearest: ContinuousClock.Instant?
            for (id, child) in children {
                if !child.exited && child.pidfd >= 0 {
                    descriptors.append(pollfd(fd: child.pidfd, events: Int16(POLLIN), revents: 0))
                    sources.append((id, .exit))
                }
                if child.output >= 0 {
                    descriptors.append(pollfd(fd: child.output, events: Int16(POLLIN), revents: 0))
                    sources.append((id, .output))
                    if let deadline = child.drainDeadline { nearest = min(nearest ?? deadline, deadline) }
                }
            }
            let timeout = nearest.map { Self.milliseconds(until: $0, now: clock.now) } ?? -1
            // EINTR, or ENOMEM (the kernel's, transient): look again. Every descriptor here is open, so no EINVAL.
            guard poll(&descriptors, nfds_t(descriptors.count), timeout) >= 0 else { continue }

            // Readiness first, looked up by id: a descriptor closed below is never used by its stale number.
            for (index, entry) in sources.enumerated() where descriptors[index + 1].revents != 0 {
                switch entry.source {
                case .exit: children[entry.id]?.readExit()
                case .output: children[entry.id]?.readOutput(into: &buffer)
                }
            }
            if descriptors[0].revents != 0 {
                var drained = [UInt8](repeating: 0, count: 256)
                while read(wakeRead, &drained, drained.count) > 0 {}
            }
            // After the drain: a request queued after this point writes another byte and wakes the next poll.
            let requests = inbox.withLock { inbox -> [Request] in
                let taken = inbox.requests
                inbox.requests = []
                return taken
            }
            for request in requests {
                switch request {
                case .watch(let id, let pid, let pidfd, let output, let exit, let tail):
                    children[id] = Watched(pid: pid, pidfd: pidfd, output: output, exit: exit, tail: tail)
                case .release(let id, let killingGroup):
                    children[id]?.killingGroup = killingGroup
                    children[id]?.reapIfReleased()
                case .finish(let id):
                    children[id]?.drainDeadline = clock.now.advanced(by: Self.drainAfterExit)
                }
            }
            let now = clock.now
            for (id, child) in children {
                if let deadline = child.drainDeadline, deadline <= now { children[id]?.closeOutput() }
                if children[id]?.done == true { children[id] = nil }
            }
        }
    }

    /// `poll`'s timeout for `deadline`, rounded up so the loop does not wake a moment early and spin.
    private static func milliseconds(until deadline: ContinuousClock.Instant, now: ContinuousClock.Instant) -> Int32 {
        guard deadline > now else { return 0 }
        let (seconds, attoseconds) = (deadline - now).components
        return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }
}
