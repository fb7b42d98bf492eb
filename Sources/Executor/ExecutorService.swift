import BatonCore
import BatonStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// Counters an operator (or a test) can read while the executor runs.
public struct ExecutorStatistics: Sendable, Equatable {
    public var claims: ClaimStateMachine.Counters
    /// Frames from a scheduler that were not valid `BATON/1` messages (`baton_wire_rejected_total`).
    public var wireRejected: Int
    /// Attempts whose completion was written and accepted.
    public var completed: Int
    /// Completions refused because the claim token no longer matched.
    public var completionsFenced: Int
    public var running: Int
    public var credit: Int
}

/// One executor process's work (CONTRACT §8, §9a): a DEALER per scheduler, claims, actions, lease
/// renewals, completions, registration, and a graceful shutdown that hands back what is still running.
///
/// The decisions live in ``ClaimStateMachine``; this type only performs what it returns. Every piece of
/// concurrent work is a child task of ``run()``, so nothing outlives the service.
public final class ExecutorService: Service, Sendable {
    private struct Core {
        var machine: ClaimStateMachine
        var stops: [TicketID: StopSignal] = [:]
        var wireRejected = 0
        /// One "rejected a malformed message" line per scheduler per 10 s; `wireRejected` counts them all.
        var rejectionLog = LogThrottle()
        var completed = 0
        var completionsFenced = 0
        var started = false
        /// The free slots last broadcast, and whether the machine has asked to announce a new value since.
        var creditSent: Int?
        var creditPending: Int?
    }

    public let configuration: ExecutorConfiguration
    private let claims: any ClaimStore
    private let nodes: any NodeStore
    private let runners: ActionRunners
    private let clock: any WallClock
    private let logger: Logger
    private let core: Mutex<Core>
    private let startedAt: Timestamp

    /// - Parameters:
    ///   - configuration: validated by the caller (``ExecutorConfiguration/validate()``).
    ///   - runners: override for tests (e.g. a short kill grace); defaults follow the configuration.
    public init(
        configuration: ExecutorConfiguration, claims: any ClaimStore, nodes: any NodeStore, runners: ActionRunners? = nil,
        clock: any WallClock = SystemWallClock(), logger: Logger
    ) {
        self.configuration = configuration
        self.claims = claims
        self.nodes = nodes
        self.runners = runners ?? ActionRunners(configuration)
        self.clock = clock
        var logger = logger
        logger[metadataKey: "executor"] = "\(configuration.executorID)"
        self.logger = logger
        // An offer backlog as large as the capacity: over-sent tickets wait for a free slot here, not 2 s for redelivery.
        self.core = Mutex(
            Core(
                machine: ClaimStateMachine(
                    capacity: configuration.capacity, claimTTL: configuration.claimTTL, offerBacklog: configuration.capacity)))
        self.startedAt = clock.now()
    }

    /// Convenience for the real process: the claim and node stores of the backend the composition root built.
    public convenience init(configuration: ExecutorConfiguration, stores: Stores, logger: Logger) {
        self.init(configuration: configuration, claims: stores.claims, nodes: stores.nodes, clock: stores.clock, logger: logger)
    }

    public var statistics: ExecutorStatistics {
        core.withLock { core in
            ExecutorStatistics(
                claims: core.machine.counters, wireRejected: core.wireRejected, completed: core.completed,
                completionsFenced: core.completionsFenced, running: core.machine.running.count, credit: core.machine.credit)
        }
    }

    /// Runs until a graceful shutdown has drained (or handed back) every ticket, or until cancelled.
    /// A service instance runs once.
    public func run() async throws {
        let first = core.withLock { core -> Bool in
            defer { core.started = true }
            return !core.started
        }
        guard first else { throw ExecutorConfigurationError(problems: ["an ExecutorService runs only once"]) }

        let context = try ZMQContext()
        let identity = Array(configuration.executorID.utf8)
        let endpoints = configuration.schedulers
        let keys = configuration.dispatchKeys
        let serverKey = configuration.dispatchServerKey
        let loop = try await ZMQSocketLoop(context: context) { context in
            try endpoints.map { endpoint in
                let socket = try ZMQSocket(context: context, type: .dealer)
                if let keys, let serverKey { try socket.useCurveClient(keys, serverKey: serverKey) }
                try socket.set(.routingID, identity)
                try socket.set(.maxMessageSize, Int64(WireMessage.maximumSize))
                try socket.set(.reconnectInterval, 100)
                try socket.connect(endpoint)
                return socket
            }
        }
        let run = Run(service: self, loop: loop)
        logger.info(
            "executor started",
            metadata: [
                "schedulers": "\(endpoints.joined(separator: ","))", "capacity": "\(configuration.capacity)",
                "queues": "\(configuration.queues.joined(separator: ","))", "commands": "\(configuration.allowCommands)",
                "auth": "\(keys.map { "curve, client key \($0.publicKey)" } ?? "none")",
            ])
        run.announce(includeHello: true)

        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    group.addTask { await run.inbound() }
                    group.addTask { await run.timers() }
                    group.addTask { await run.storeWriter() }
                    group.addTask { await run.registration() }
                    group.addTask { await run.actions() }
                    group.addTask {
                        if await run.shutdownRequested.wait() != nil { await run.beginShutdown() }
                    }
                    _ = await run.finished.wait()
                    await run.close()
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                run.shutdownRequested.fulfil(())
            }
        } onCancel: {
            run.abort()
        }
        runners.http.close()
        context.shutdown()
        logger.info("executor stopped")
    }

    // MARK: The shell

    /// State that exists only while ``run()`` runs.
    private final class Run: Sendable {
        let service: ExecutorService
        let loop: ZMQSocketLoop
        let writes = WriteQueue()
        let starts: AsyncStream<(ClaimedTicket, StopSignal)>
        let startsContinuation: AsyncStream<(ClaimedTicket, StopSignal)>.Continuation
        let shutdownRequested = OneShot<Void>()
        let finished = OneShot<Void>()

        init(service: ExecutorService, loop: ZMQSocketLoop) {
            self.service = service
            self.loop = loop
            (starts, startsContinuation) = AsyncStream.makeStream(of: (ClaimedTicket, StopSignal).self)
        }

        var configuration: ExecutorConfiguration { service.configuration }
        var logger: Logger { service.logger }

        func machine(_ body: (inout ClaimStateMachine) -> [ClaimStateMachine.Action]) -> [ClaimStateMachine.Action] {
            service.core.withLock { body(&$0.machine) }
        }

        // MARK: Wire

        func broadcast(_ message: WireMessage) {
            let frames = message.encode()
            for index in configuration.schedulers.indices {
                loop.send(frames, on: index)
            }
        }

        /// HELLO (so a restarted scheduler learns us without reconnect detection), CREDIT and HEARTBEAT.
        func announce(includeHello: Bool) {
            let (credit, inFlight, accepting) = service.core.withLock {
                ($0.machine.credit, $0.machine.inFlight, $0.machine.mode == .accepting)
            }
            if includeHello && accepting {
                broadcast(
                    .hello(
                        WireMessage.Hello(
                            executor: configuration.executorID, capacity: configuration.capacity, version: configuration.version,
                            queues: configuration.queues)))
            }
            service.core.withLock {
                $0.creditSent = credit
                $0.creditPending = nil
            }
            broadcast(.credit(WireMessage.Credit(executor: configuration.executorID, n: credit)))
            broadcast(.heartbeat(WireMessage.Heartbeat(sender: configuration.executorID, inFlight: inFlight)))
        }

        func inbound() async {
            for await event in loop.events {
                switch event {
                case .received(let index, let frames):
                    await receive(frames, from: index)
                case .sendFailed(let index, _, let error):
                    logger.debug("send to scheduler failed", metadata: ["endpoint": "\(configuration.schedulers[index])", "error": "\(error)"])
                case .handshakeRefused:
                    break  // only a CURVE server authenticates; this loop has no allow list
                }
            }
        }

        func receive(_ frames: [[UInt8]], from index: Int) async {
            // Tolerate a ROUTER that prefixes an empty delimiter frame (REQ-style envelopes).
            let payload = frames.count == 4 && frames[0].isEmpty ? Array(frames.dropFirst()) : frames
            let message: WireMessage
            do {
                message = try WireMessage.decode(payload)
            } catch {
                let now = service.clock.now()
                let suppressed = service.core.withLock { core in
                    core.wireRejected += 1
                    return core.rejectionLog.admit(configuration.schedulers[index], now: now)
                }
                guard let suppressed else { return }
                logger.warning(
                    "rejected a malformed message",
                    metadata: [
                        "endpoint": "\(configuration.schedulers[index])", "reason": "\(error.code.rawValue)",
                        "error": "\(error.message.prefix(200))", "suppressed": "\(suppressed)",
                    ])
                return
            }
            defer { flushCredit() }
            switch message {
            case .tickets(let notices):
                await perform(machine { $0.ticketsOffered(notices.map(\.id)) })
            case .cancel(let cancel):
                logger.info("cancel requested", metadata: ["ticket": "\(cancel.ticket)"])
                await perform(machine { $0.cancelRequested(cancel.ticket, now: service.clock.now()) })
            case .notLeader(let notice):
                logger.debug("scheduler is a standby", metadata: ["scheduler": "\(notice.scheduler)"])
            case .hello, .credit, .heartbeat, .wake, .bye:
                logger.debug("ignored a message executors do not act on", metadata: ["type": "\(message.typeName)"])
            }
        }

        // MARK: Timers

        func timers() async {
            var nextAnnounce = service.clock.now() + configuration.announceInterval
            while finished.value == nil, !Task.isCancelled {
                var now = service.clock.now()
                if now >= nextAnnounce {
                    announce(includeHello: true)
                    nextAnnounce = now + configuration.announceInterval
                }
                await perform(machine { $0.tick(now: now) })
                now = service.clock.now()
                let deadline = min(nextAnnounce, service.core.withLock { $0.machine.nextDeadline } ?? nextAnnounce)
                let wait = TimeSpan(milliseconds: max(1, (deadline - now).milliseconds))
                _ = await firstOf({ await after(wait, ()) }, { await self.finished.wait() })
            }
        }

        func registration() async {
            while finished.value == nil, !Task.isCancelled {
                let now = service.clock.now()
                let inFlight = service.core.withLock { $0.machine.inFlight }
                let node = ExecutorNode(
                    id: configuration.executorID, host: ProcessInfo.processInfo.hostName,
                    pid: Int(ProcessInfo.processInfo.processIdentifier), capacity: configuration.capacity, inFlight: inFlight,
                    queues: configuration.queues, version: configuration.version, startedAt: service.startedAt, lastSeen: now)
                do {
                    try await service.nodes.heartbeat(executor: node)
                } catch {
                    logger.warning("could not register in the executors table", metadata: ["error": "\(error)"])
                }
                _ = await firstOf({ await after(self.configuration.registrationInterval, ()) }, { await self.finished.wait() })
            }
        }

        // MARK: Actions

        func actions() async {
            await withDiscardingTaskGroup { group in
                for await (claim, stop) in starts {
                    group.addTask { await self.execute(claim, stop: stop) }
                }
            }
        }

        func execute(_ claim: ClaimedTicket, stop: StopSignal) async {
            var logger = self.logger
            logger[metadataKey: "ticket"] = "\(claim.id)"
            logger[metadataKey: "job"] = "\(claim.jobName)"
            logger[metadataKey: "attempt"] = "\(claim.attempt)"
            logger.debug("attempt started", metadata: ["action": "\(describe(claim.spec.action))"])
            let result = await service.runners.run(claim, stop: stop)
            logger.debug(
                "attempt ended",
                metadata: ["outcome": "\(result.outcome.rawValue)", "status": "\(result.status.map(String.init) ?? "-")"])
            let now = service.clock.now()
            let actions = service.core.withLock { core in
                core.stops[claim.id] = nil
                return core.machine.actionFinished(claim.id, result: result, now: now)
            }
            await perform(actions)
        }

        /// A log-safe summary: secrets in headers and env, URL userinfo and secret-looking parameters are `***`.
        func describe(_ action: Action) -> String {
            switch action {
            case .noop: return "noop"
            case .http(let http):
                return "http \(http.method) \(Redaction.url(http.url)) \(Redaction.describe(http.headers))"
            case .command(let command):
                return "command \(Redaction.argv(command.argv).joined(separator: " ")) \(Redaction.describe(command.env))"
            }
        }

        // MARK: Writing claims and completions

        /// Writes everything queued in one transaction (completions first, then claims), hands the results to the
        /// machine, and then announces the credit once for the whole batch.
        func storeWriter() async {
            while let batch = await writes.takeAll() {
                var accepted: [TicketID: Bool] = [:]
                var actions: [ClaimStateMachine.Action] = []
                let now = service.clock.now()
                do {
                    let result = try await service.claims.completeAndClaim(
                        batch.completions, claim: batch.claims, executor: configuration.executorID, now: now,
                        leaseTTL: configuration.claimTTL)
                    accepted = result.accepted
                    for failed in result.unreadable {
                        logger.error(
                            "ticket failed: its job revision cannot be read by this executor",
                            metadata: [
                                "ticket": "\(failed.id)", "job": "\(failed.jobName)", "revision": "\(failed.revision)",
                                "reason": "\(failed.reason)",
                            ])
                    }
                    if !batch.claims.isEmpty {
                        ExecutorMetrics.recordClaims(result.won, now: now)
                        if result.won.count < batch.claims.count {
                            logger.debug("claims lost", metadata: ["requested": "\(batch.claims.count)", "won": "\(result.won.count)"])
                        }
                        actions += machine { $0.claimSucceeded(requested: batch.claims, won: result.won, now: service.clock.now()) }
                    }
                } catch {
                    // Nothing was written. Claims are dropped (the leader re-offers them); completions are retried alone.
                    if !batch.claims.isEmpty {
                        logger.warning("claim failed", metadata: ["count": "\(batch.claims.count)", "error": "\(error)"])
                        actions += machine { $0.claimFailed(requested: batch.claims) }
                    }
                    if !batch.completions.isEmpty { accepted = await write(batch.completions) }
                }
                if !batch.completions.isEmpty {
                    for (id, ok) in accepted where !ok {
                        logger.info("completion fenced: the claim token no longer matches", metadata: ["ticket": "\(id)"])
                    }
                    ExecutorMetrics.recordCompletions(
                        batch.completions, accepted: accepted, jobLabels: service.configuration.metricsJobLabels)
                    actions += service.core.withLock { core in
                        for ok in accepted.values {
                            if ok { core.completed += 1 } else { core.completionsFenced += 1 }
                        }
                        return core.machine.completionsWritten(batch.completions.count)
                    }
                }
                await perform(actions)
                flushCredit()
            }
        }

        /// Retries a failing completion write while the claims could still be valid; gives up after one claim TTL
        /// (the sweeper has then returned the tickets to `retrying`).
        func write(_ batch: [Completion]) async -> [TicketID: Bool] {
            let giveUpAt = service.clock.now() + configuration.claimTTL
            var delay = TimeSpan.milliseconds(50)
            while true {
                do {
                    return try await service.claims.complete(batch, now: service.clock.now())
                } catch {
                    guard service.clock.now() + delay < giveUpAt, !Task.isCancelled else {
                        logger.error("gave up writing completions", metadata: ["count": "\(batch.count)", "error": "\(error)"])
                        return [:]
                    }
                    logger.warning("completion write failed; retrying", metadata: ["error": "\(error)"])
                    _ = await after(delay, ())
                    delay = min(delay * 2, .seconds(2))
                }
            }
        }

        /// Broadcasts the credit the machine last asked to announce, if it differs from the last one sent.
        ///
        /// Called once per inbound message and once per write batch rather than at every change: one `CREDIT` per
        /// claim and per finished attempt was a leader pass per ticket. Every change that matters reaches a flush
        /// soon: offers arrive as messages, and finished attempts become completions, written in the next batch.
        func flushCredit() {
            let credit = service.core.withLock { core -> Int? in
                guard let pending = core.creditPending, pending != core.creditSent else {
                    core.creditPending = nil
                    return nil
                }
                core.creditSent = pending
                core.creditPending = nil
                return pending
            }
            if let credit { broadcast(.credit(WireMessage.Credit(executor: configuration.executorID, n: credit))) }
        }

        // MARK: Performing actions

        func perform(_ actions: [ClaimStateMachine.Action]) async {
            var queue = actions[...]
            while let action = queue.popFirst() {
                queue += await perform(action)
            }
        }

        private func perform(_ action: ClaimStateMachine.Action) async -> [ClaimStateMachine.Action] {
            switch action {
            case .claim(let ids):
                writes.append(claims: ids)
                return []
            case .start(let claimed):
                var finished: [ClaimStateMachine.Action] = []
                for claim in claimed {
                    // A noop has nothing to run or stop: finish it here instead of spawning a task for it.
                    if case .noop = claim.spec.action {
                        let now = service.clock.now()
                        finished += machine { $0.actionFinished(claim.id, result: ActionResult(outcome: .succeeded), now: now) }
                        continue
                    }
                    let stop = StopSignal()
                    service.core.withLock { $0.stops[claim.id] = stop }
                    startsContinuation.yield((claim, stop))
                }
                return finished
            case .stop(let id, let reason):
                let stop = service.core.withLock { $0.stops[id] }
                logger.info("stopping attempt", metadata: ["ticket": "\(id)", "reason": "\(reason.rawValue)"])
                stop?.send(reason)
                return []
            case .renew(let tokens):
                let claims = tokens.map { ($0.key, $0.value) }
                do {
                    let results = try await service.claims.heartbeat(
                        claims, now: service.clock.now(), leaseTTL: configuration.claimTTL)
                    return machine { $0.heartbeatSucceeded(results, renewed: tokens, now: service.clock.now()) }
                } catch {
                    logger.warning("lease renewal failed", metadata: ["count": "\(tokens.count)", "error": "\(error)"])
                    return machine { $0.heartbeatFailed(now: service.clock.now()) }
                }
            case .complete(let batch):
                writes.append(completions: batch)
                return []
            case .discard(let id, let reason):
                logger.warning(
                    reason == .fenced ? "fenced: another claim owns the ticket; result discarded"
                        : "lease could not be renewed in time; result discarded",
                    metadata: ["ticket": "\(id)", "reason": "\(reason.rawValue)"])
                return []
            case .sendCredit(let n):
                let accepting = service.core.withLock { core in
                    core.creditPending = n
                    return core.machine.mode == .accepting
                }
                // Shutting down: tell the schedulers at once to stop sending. Otherwise the next flush sends it.
                if !accepting { flushCredit() }
                return []
            case .finish:
                finished.fulfil(())
                return []
            }
        }

        // MARK: Shutdown

        func beginShutdown() async {
            logger.info("graceful shutdown: no new tickets", metadata: ["grace": "\(configuration.shutdownGrace)"])
            let now = service.clock.now()
            await perform(machine { $0.shutdown(now: now, grace: configuration.shutdownGrace) })
        }

        /// Task cancellation (not a graceful shutdown): kill everything at once and report nothing;
        /// the leases expire and the sweeper retries the tickets.
        func abort() {
            let stops = service.core.withLock { Array($0.stops.values) }
            for stop in stops { stop.send(.leaseUnrenewable) }
            finished.fulfil(())
        }

        /// After the last report: say BYE, leave the executors table, close the sockets.
        func close() async {
            startsContinuation.finish()
            broadcast(.bye(WireMessage.Bye(sender: configuration.executorID)))
            do {
                try await service.nodes.remove(executor: configuration.executorID)
            } catch {
                logger.warning("could not remove this executor from the executors table", metadata: ["error": "\(error)"])
            }
            // The loop closes sockets with LINGER 0; give BYE a moment to leave first.
            _ = await after(configuration.byeLinger, ())
            await loop.shutdown()
        }
    }
}
