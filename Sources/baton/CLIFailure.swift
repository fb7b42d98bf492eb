import ArgumentParser
import Foundation

/// A command-line failure with the message the user sees and the exit status scripts test.
enum CLIFailure: Error, CustomStringConvertible {
    /// Invalid input (exit 2), e.g. a cron expression with a bad field.
    case usage(String)
    /// The command exists but this build does not implement it yet (exit 1).
    case notYetAvailable(String)
    /// The gateway answered with an error (exit 1); the message is its problem document, readable.
    case api(String)
    /// The gateway could not be reached (exit 1).
    case unreachable(String)

    var description: String {
        switch self {
        case .usage(let message): message
        case .notYetAvailable(let command): "baton \(command): not yet available in this build"
        case .api(let message), .unreachable(let message): message
        }
    }

    var exitCode: ExitCode {
        switch self {
        case .usage: ExitCode(2)
        case .notYetAvailable, .api, .unreachable: ExitCode(1)
        }
    }
}

/// Runs `body`, turning a `CLIFailure` into its message on stderr and its exit status.
func reportingFailures<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let failure as CLIFailure {
        FileHandle.standardError.write(Data("error: \(failure.description)\n".utf8))
        throw failure.exitCode
    }
}

/// The async twin of `reportingFailures(_:)`.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as CLIFailure {
        FileHandle.standardError.write(Data("error: \(failure.description)\n".utf8))
        throw failure.exitCode
    }
}
