import ArgumentParser
import Foundation

/// `baton jobs …`: manage jobs through the gateway.
struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage jobs through the gateway.",
        subcommands: [List.self, Get.self, Apply.self, Delete.self, Pause.self, Resume.self, Trigger.self])
}

extension Jobs {
    static func jobRows(_ items: [[String: Any]]) -> String {
        Table.render(
            headers: ["NAME", "STATE", "SCHEDULE", "ACTION", "NEXT FIRE", "REV"],
            rows: items.map { job in
                [
                    Table.text(job["name"]), Table.text(job["state"]), scheduleText(job["schedule"]),
                    actionText(job["action"]), Table.text(job["nextFireAt"]), Table.text(job["revision"]),
                ]
            })
    }

    static func scheduleText(_ value: Any?) -> String {
        guard let schedule = value as? [String: Any] else { return "-" }
        if let cron = schedule["cron"] as? String { return "cron \(cron) \(schedule["timezone"] as? String ?? "UTC")" }
        if let every = schedule["every"] as? String { return "every \(every)" }
        if let at = schedule["at"] as? String { return "at \(at)" }
        return "-"
    }

    static func actionText(_ value: Any?) -> String {
        guard let action = value as? [String: Any] else { return "-" }
        if let http = action["http"] as? [String: Any] {
            return "http \(http["method"] as? String ?? "GET") \(http["url"] as? String ?? "")"
        }
        if let command = action["command"] as? [String: Any] {
            return "command " + ((command["argv"] as? [String]) ?? []).joined(separator: " ")
        }
        return action["noop"] != nil ? "noop" : "-"
    }

    static func describe(_ job: [String: Any]) -> String {
        var state = Table.text(job["state"])
        if let reason = job["parkedReason"] as? String { state += " (\(reason))" }
        let fields: [(String, String)] = [
            ("name", Table.text(job["name"])), ("id", Table.text(job["id"])), ("revision", Table.text(job["revision"])),
            ("state", state), ("schedule", scheduleText(job["schedule"])),
            ("action", actionText(job["action"])), ("queue", Table.text(job["queue"])),
            ("next fire", Table.text(job["nextFireAt"])), ("last ticket", Table.text(job["lastTicket"])),
            ("last success", Table.text(job["lastSuccessAt"])), ("last failure", Table.text(job["lastFailureAt"])),
            ("created", Table.text(job["createdAt"])), ("updated", Table.text(job["updatedAt"])),
        ]
        return fields.map { "\($0.0.padding(toLength: 13, withPad: " ", startingAt: 0)) \($0.1)" }.joined(separator: "\n")
    }

    static func path(_ name: String) throws -> String {
        guard let encoded = name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) else {
            throw CLIFailure.usage("bad job name \(name)")
        }
        return "/v1/jobs/\(encoded)"
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Only jobs with this label (key:value).") var label: String?
        @Option(help: "Only paused (true) or unpaused (false) jobs.") var paused: Bool?
        @Option(help: "Jobs per page (1-1000).") var limit = 100
        @Option(help: "Continue after this cursor (printed when there are more).") var cursor: String?

        func run() async throws {
            try await reportingFailures {
                var query = [URLQueryItem(name: "limit", value: String(limit))]
                if let label { query.append(URLQueryItem(name: "label", value: label)) }
                if let paused { query.append(URLQueryItem(name: "paused", value: String(paused))) }
                if let cursor { query.append(URLQueryItem(name: "cursor", value: cursor)) }
                let reply = try await options.client().send("GET", "/v1/jobs", query: query)
                if options.json { return print(reply.prettyJSON) }
                print(Jobs.jobRows(reply.object["items"] as? [[String: Any]] ?? []))
                if let next = reply.object["nextCursor"] as? String { print("(more: --cursor \(next))") }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one job.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job name.") var name: String

        func run() async throws {
            try await reportingFailures {
                let reply = try await options.client().send("GET", try Jobs.path(name))
                print(options.json ? reply.prettyJSON : Jobs.describe(reply.object))
            }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or replace a job from a JSON file (PUT /v1/jobs/NAME).",
            discussion: "Secret header and env values shown as *** by `get --json` keep their stored value when applied back.")
        @OptionGroup var options: ClientOptions
        @Option(name: .shortAndLong, help: "The job's JSON file, or - for standard input.") var file: String

        func run() async throws {
            try await reportingFailures {
                let data: Data
                if file == "-" {
                    data = FileHandle.standardInput.readDataToEndOfFile()
                } else {
                    guard let contents = FileManager.default.contents(atPath: file) else {
                        throw CLIFailure.usage("cannot read \(file)")
                    }
                    data = contents
                }
                guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                    throw CLIFailure.usage("\(file) is not a JSON object")
                }
                guard let name = object["name"] as? String else { throw CLIFailure.usage("\(file) has no \"name\"") }
                let reply = try await options.client().send("PUT", try Jobs.path(name), body: data)
                if options.json { return print(reply.prettyJSON) }
                let verb = reply.status == 201 ? "created" : "configured"
                print("job \(name) \(verb) (revision \(Table.text(reply.object["revision"])))")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a job (pending tickets are cancelled, history kept).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job name.") var name: String

        func run() async throws {
            try await reportingFailures {
                _ = try await options.client().send("DELETE", try Jobs.path(name))
                if !options.json { print("job \(name) deleted") }
            }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause a job.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job name.") var name: String

        func run() async throws {
            try await Jobs.post("pause", to: name, options: options, done: "paused")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a paused job (paused slots are not caught up).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job name.") var name: String

        func run() async throws {
            try await Jobs.post("resume", to: name, options: options, done: "resumed")
        }
    }

    struct Trigger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a job now.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job name.") var name: String
        @Option(help: "Idempotency key: the same key returns the same ticket.") var key: String?

        func run() async throws {
            try await reportingFailures {
                let headers = key.map { ["Idempotency-Key": $0] } ?? [:]
                let reply = try await options.client().send("POST", try Jobs.path(name) + "/trigger", headers: headers)
                if options.json { return print(reply.prettyJSON) }
                let existing = reply.status == 200 ? " (existing ticket for this key)" : ""
                print("ticket \(Table.text(reply.object["id"])) \(Table.text(reply.object["state"]))\(existing)")
            }
        }
    }
}

extension Jobs {
    /// `POST /v1/jobs/{name}/{verb}` and a one-line confirmation (or the reply with `--json`).
    static func post(_ verb: String, to name: String, options: ClientOptions, done: String) async throws {
        try await reportingFailures {
            let reply = try await options.client().send("POST", try Jobs.path(name) + "/" + verb)
            print(options.json ? reply.prettyJSON : "job \(name) \(done)")
        }
    }
}
