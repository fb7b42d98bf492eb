import ArgumentParser
import BatonCore
import BatonPostgres
import BatonSQLite
import BatonStore
import Foundation
import Logging

/// `baton migrate --from sqlite:PATH --to postgres://…`: moves a Baton from its SQLite file to PostgreSQL without
/// running any slot twice. The composition root is the one module that knows both backends, so the copy is wired
/// here: `SQLiteTransferSource` reads the file read-only, `PostgresTransfer` writes it in one transaction.
///
/// Refused (exit 2, nothing written) when the source is not at this build's schema, when a scheduler still holds
/// its leader lease (every Baton process must be stopped: a copy is a snapshot, and what a running process writes
/// afterwards would stay behind), or when the target already holds jobs.
struct SQLiteToPostgres {
    let source: String
    let target: DatabaseLocation.PostgresURL

    /// From the two options; a missing one, or a location of the wrong kind, is a usage error (exit 2).
    static func parse(from: String?, to: String?) throws(CLIFailure) -> SQLiteToPostgres {
        guard let from, let to else {
            throw .usage("--from and --to go together: baton migrate --from sqlite:PATH --to postgres://user:password@host:port/database")
        }
        let source: String
        switch try location(from, option: "--from") {
        case .sqlite(let path): source = path
        case .postgres: throw .usage("--from must be an SQLite file (sqlite:PATH or a path); copying out of PostgreSQL is pg_dump's job")
        }
        switch try location(to, option: "--to") {
        case .postgres(let url): return SQLiteToPostgres(source: source, target: url)
        case .sqlite: throw .usage("--to must be a postgres:// or postgresql:// URL, not \"\(to)\"")
        }
    }

    /// `DatabaseLocation`'s parse, its message naming the option instead of BATON_DB (and never the password).
    private static func location(_ text: String, option: String) throws(CLIFailure) -> DatabaseLocation {
        do {
            return try DatabaseLocation(parsing: text)
        } catch {
            let message = error.description.hasPrefix("BATON_DB: ") ? String(error.description.dropFirst("BATON_DB: ".count)) : error.description
            throw .usage("\(option): \(message)")
        }
    }

    func run(logger: Logger, now: Timestamp = SystemWallClock().now()) async throws {
        let source: SQLiteTransferSource
        do {
            source = try SQLiteTransferSource.open(path: self.source)
        } catch {
            throw Self.failure(error)
        }
        defer { source.close() }
        if let lease = source.leaderLease, lease.leaseExpiresAt > now {
            throw Self.failure(
                TransferError(
                    .sourceInUse,
                    "scheduler \(lease.holder) (pid \(lease.pid) on \(lease.host)) holds the leader lease of \(self.source) "
                        + "until \(lease.leaseExpiresAt): stop every Baton process (schedulers, executors, gateways) before "
                        + "copying; a lease left by a killed scheduler lapses by itself at that time"))
        }
        logger.info("copying", metadata: ["from": "\(self.source)", "to": "\(target)"])
        let backend = PostgresBackend(target, maximumConnections: 1, logger: logger)
        let summary = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await backend.client.run() }
            defer { group.cancelAll() }
            do {
                return try await PostgresTransfer.copy(from: source, leaderEpoch: source.leaderLease?.epoch, into: backend)
            } catch let error as TransferError {
                throw Self.failure(error)
            }
        }
        FileHandle.standardOutput.write(Data(summaryText(summary).utf8))
    }

    /// The summary printed on success: rows per table, what was left out and why, and what to do next.
    func summaryText(_ summary: PostgresTransfer.Summary) -> String {
        let width = TransferTable.allCases.map(\.rawValue.count).max() ?? 0
        var lines = ["copied \(source) to \(target) in one transaction:"]
        for table in TransferTable.allCases {
            let name = table.rawValue.padding(toLength: width, withPad: " ", startingAt: 0)
            lines.append("  \(name)  \(summary.rows[table] ?? 0)")
        }
        if let epoch = summary.epoch {
            lines.append("  leader epoch \(epoch) carried over: the first scheduler on PostgreSQL leads with epoch \(epoch + 1)")
        }
        lines.append("not copied: leader_lease (only its epoch), scheduler_node and executor_node (heartbeats, rewritten by running processes)")
        lines.append("next: point BATON_DB of every process at this PostgreSQL database, then start them")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Prints the error; a refusal exits 2 (nothing was written), a failure while copying exits 1 (the target was
    /// left as it was: the copy is one transaction).
    private static func failure(_ error: TransferError) -> ExitCode {
        switch error.code {
        case .storage:
            FileHandle.standardError.write(Data("error: copy failed, nothing was copied: \(error.message)\n".utf8))
            return ExitCode.failure
        case .sourceMissing, .sourceNotCurrent, .sourceInUse, .targetNotEmpty:
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            return CLIFailure.usage(error.message).exitCode
        }
    }
}
