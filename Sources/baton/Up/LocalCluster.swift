import BatonCore
import BatonRuntime
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// `baton up`'s supervisor: runs each role as a child process of this same binary, streams their
/// output with a role prefix, restarts a child that dies (with backoff), and on graceful shutdown
/// sends SIGTERM to every child and waits for it.
final class LocalCluster: Service {
    struct Child: Sendable {
        var name: String
        var arguments: [String]
        var environment: [String: String]
    }

    let children: [Child]
    let logger: Logger
    private let running = Mutex<[String: Process]>([:])

    init(children: [Child], logger: Logger) {
        self.children = children
        self.logger = logger
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for child in children {
                    group.addTask { await self.supervise(child) }
                }
            }
        } onGracefulShutdown: {
            self.terminateAll()
        }
    }

    /// Keeps one child running until shutdown; restarts it after a crash with exponential backoff
    /// (1 s doubling to 30 s, reset once it has stayed up for a minute).
    func supervise(_ child: Child) async {
        var backoff = Duration.seconds(1)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let started = ContinuousClock.now
            let status: Int32
            do {
                status = try await runOnce(child)
            } catch {
                logger.error("could not start \(child.name)", metadata: ["error": "\(error)"])
                return
            }
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            if ContinuousClock.now - started > .seconds(60) { backoff = .seconds(1) }
            logger.warning("\(child.name) exited with status \(status); restarting in \(backoff)")
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(30))
        }
    }

    /// Starts the child and returns its exit status when it ends.
    func runOnce(_ child: Child) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = child.arguments
        process.environment = ProcessInfo.processInfo.environment.merging(child.environment) { _, new in new }
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let prefixer = LinePrefixer(prefix: child.name)
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                prefixer.feed(data)
            }
        }
        return try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in
                output.fileHandleForReading.readabilityHandler = nil
                prefixer.flush()
                continuation.resume(returning: finished.terminationStatus)
            }
            do {
                try process.run()
                running.withLock { $0[child.name] = process }
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }

    func terminateAll() {
        let processes = running.withLock { Array($0.values) }
        for process in processes where process.isRunning {
            kill(process.processIdentifier, SIGTERM)
        }
    }
}

/// Splits a child's output into lines and writes each with `[role]` in front.
final class LinePrefixer: Sendable {
    private let prefix: String
    private let pending = Mutex(Data())

    init(prefix: String) {
        self.prefix = prefix
    }

    func feed(_ data: Data) {
        let lines: [Data] = pending.withLock { buffer in
            buffer.append(data)
            var complete: [Data] = []
            while let newline = buffer.firstIndex(of: 0x0A) {
                complete.append(buffer[buffer.startIndex..<newline])
                buffer.removeSubrange(buffer.startIndex...newline)
            }
            return complete
        }
        for line in lines { BatonLogging.write("[\(prefix)] \(String(decoding: line, as: UTF8.self))\n") }
    }

    func flush() {
        let rest = pending.withLock { buffer -> Data in
            defer { buffer.removeAll() }
            return buffer
        }
        if !rest.isEmpty { BatonLogging.write("[\(prefix)] \(String(decoding: rest, as: UTF8.self))\n") }
    }
}
