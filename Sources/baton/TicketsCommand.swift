import ArgumentParser
import Foundation

/// `baton tickets …`: inspect ticket history through the gateway.
struct Tickets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect tickets through the gateway.", subcommands: [List.self, Get.self])
}

extension Tickets {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tickets, newest first.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Only this job's tickets.") var job: String?
        @Option(help: "pending, running, retrying, succeeded, failed, cancelled or skipped.") var state: String?
        @Option(help: "Tickets per page (1-1000).") var limit = 100
        @Option(help: "Continue after this cursor (printed when there are more).") var cursor: String?

        func run() async throws {
            try await reportingFailures {
                var query = [URLQueryItem(name: "limit", value: String(limit))]
                if let job { query.append(URLQueryItem(name: "job", value: job)) }
                if let state { query.append(URLQueryItem(name: "state", value: state)) }
                if let cursor { query.append(URLQueryItem(name: "cursor", value: cursor)) }
                let reply = try await options.client().send("GET", "/v1/tickets", query: query)
                if options.json { return print(reply.prettyJSON) }
                let items = reply.object["items"] as? [[String: Any]] ?? []
                print(
                    Table.render(
                        headers: ["ID", "JOB", "SLOT", "STATE", "REASON", "ATTEMPT", "EXECUTOR"],
                        rows: items.map { ticket in
                            [
                                String(Table.text(ticket["id"]).prefix(12)), Table.text(ticket["job"]), Table.text(ticket["slot"]),
                                Table.text(ticket["state"]), Table.text(ticket["reason"]),
                                "\(Table.text(ticket["attempt"]))/\(Table.text(ticket["maxAttempts"]))", Table.text(ticket["executor"]),
                            ]
                        }))
                if let next = reply.object["nextCursor"] as? String { print("(more: --cursor \(next))") }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one ticket with its attempts.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Ticket id (64 hex digits).") var id: String

        func run() async throws {
            try await reportingFailures {
                guard id.count == 64, id.allSatisfy(\.isHexDigit) else { throw CLIFailure.usage("a ticket id is 64 hex digits") }
                let reply = try await options.client().send("GET", "/v1/tickets/\(id.lowercased())")
                if options.json { return print(reply.prettyJSON) }
                let ticket = reply.object
                let keys = [
                    "id", "job", "jobId", "revision", "slot", "state", "reason", "detail", "epoch", "attempt", "maxAttempts",
                    "notBefore", "createdAt", "startedAt", "finishedAt", "executor", "manual",
                ]
                for key in keys { print("\(key.padding(toLength: 12, withPad: " ", startingAt: 0)) \(Table.text(ticket[key]))") }
                let attempts = ticket["attempts"] as? [[String: Any]] ?? []
                if !attempts.isEmpty {
                    print("")
                    print(
                        Table.render(
                            headers: ["#", "EXECUTOR", "STARTED", "FINISHED", "OUTCOME", "STATUS"],
                            rows: attempts.map { attempt in
                                ["number", "executor", "startedAt", "finishedAt", "outcome", "status"].map { Table.text(attempt[$0]) }
                            }))
                }
            }
        }
    }
}
