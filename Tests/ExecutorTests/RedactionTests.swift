import BatonCore
import Executor
import Testing

@Suite("Secret redaction in logs")
struct RedactionTests {
    @Test(arguments: ["Authorization", "cookie", "Proxy-Authorization", "X-Api-Key", "GITHUB_TOKEN", "db_password", "ClientSecret"])
    func secretNamesAreRedacted(name: String) {
        #expect(Secrets.isSecret(name: name))
        #expect(Secrets.redacted([name: "hunter2"]) == [name: "***"])
    }

    @Test func ordinaryNamesAreShown() {
        #expect(Redaction.describe(["Content-Type": "application/json", "X-Token": "t"]) == "Content-Type=application/json X-Token=***")
    }
}
