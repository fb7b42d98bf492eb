import BatonPostgres
import BatonStore
import BatonTestSupport
import Foundation
import Testing

@testable import baton

/// `baton migrate --from … --to …` and `baton up --db …`: what their options accept, and the clear error (exit 2)
/// for what they do not.
@Suite("baton migrate --from/--to, baton up --db: options")
struct MigrateCopyOptionsTests {
    @Test(arguments: [
        ("sqlite:/data/baton.sqlite", "/data/baton.sqlite"),
        ("/data/baton.sqlite", "/data/baton.sqlite"),
        ("relative.sqlite", "relative.sqlite"),
    ])
    func fromTakesAnSQLiteURLOrABarePath(_ from: String, _ path: String) throws {
        let copy = try SQLiteToPostgres.parse(from: from, to: "postgresql://baton:secret@db.example:6432/baton")
        #expect(copy.source == path)
        #expect(copy.target.host == "db.example" && copy.target.port == 6432 && copy.target.database == "baton")
    }

    @Test(arguments: [
        (nil, "postgres://u@h/d", "--from and --to go together"),
        ("a.sqlite", nil, "--from and --to go together"),
        ("postgres://u@h/d", "postgres://u@h/e", "--from must be an SQLite file"),
        ("a.sqlite", "sqlite:b.sqlite", "--to must be a postgres:// or postgresql:// URL"),
        ("a.sqlite", "b.sqlite", "--to must be a postgres:// or postgresql:// URL"),
        ("a.sqlite", "mysql://u:secret@h/d", "--to: unknown database scheme"),
        ("a.sqlite", "postgres://h/d", "--to: the URL names no user"),
        ("sqlite:", "postgres://u@h/d", "--from: \"sqlite:\" names no SQLite file"),
    ] as [(String?, String?, String)])
    func badLocationsAreUsageErrorsNamingTheOption(_ from: String?, _ to: String?, _ message: String) {
        do {
            _ = try SQLiteToPostgres.parse(from: from, to: to)
            Issue.record("accepted --from \(from ?? "-") --to \(to ?? "-")")
        } catch {
            #expect(error.exitCode.rawValue == 2)
            #expect(error.description.contains(message), "\(error.description)")
            #expect(!error.description.contains("secret"))
        }
    }

    @Test func theSummaryNamesEveryTableAndHidesThePassword() throws {
        let copy = try SQLiteToPostgres.parse(from: "a.sqlite", to: "postgres://baton:secret@db.example/baton")
        let summary = PostgresTransfer.Summary(rows: [.job: 3, .ticket: 12], epoch: 7)
        let text = copy.summaryText(summary)
        for table in TransferTable.allCases { #expect(text.contains(table.rawValue), "\(table.rawValue)") }
        #expect(text.contains("epoch 8"))
        #expect(!text.contains("secret"), "\(text)")
    }

    @Test func upTakesTheDatabaseFromDB() throws {
        let up = try Up.parse(["--db", "postgres://baton@127.0.0.1:5432/baton", "--demo"])
        #expect(up.database == "postgres://baton@127.0.0.1:5432/baton")
        #expect(up.demo)
        #expect(try Up.parse([]).database == nil)
    }
}
