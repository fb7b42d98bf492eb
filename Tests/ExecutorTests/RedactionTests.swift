import Executor
import Testing

@Suite("Secret redaction in logs")
struct RedactionTests {
    @Test(arguments: ["Authorization", "cookie", "Proxy-Authorization", "X-Api-Key", "GITHUB_TOKEN", "db_password", "ClientSecret"])
    func secretNamesAreRedacted(name: String) {
        #expect(Redaction.isSecret(name: name))
        #expect(Redaction.redacted([name: "hunter2"]) == [name: "***"])
    }

    @Test func ordinaryNamesAreShown() {
        #expect(Redaction.describe(["Content-Type": "application/json", "X-Token": "t"]) == "Content-Type=application/json X-Token=***")
    }
}
