import BatonCore
import Testing

@Suite("Text log lines: escaping")
struct LogLineTests {
    @Test func safeValuesAreBareAndOthersQuoted() {
        let line = LogLine.text(
            time: "T", level: "INFO", label: "baton.scheduler", message: "executor joined",
            fields: [("executor", "exec-1"), ("host", "a b"), ("empty", ""), ("eq", "a=b"), ("quote", "say \"hi\"")])
        #expect(line == "T INFO baton.scheduler: executor joined executor=exec-1 host=\"a b\" empty=\"\" eq=\"a=b\" quote=\"say \\\"hi\\\"\"\n")
    }

    @Test func aPeerSuppliedValueCannotForgeALine() {
        // An executor id as a peer could send it in HELLO.
        let forged = "x\n2026-01-01T00:00:00Z ERROR baton.scheduler: leader lost role=scheduler"
        let line = LogLine.text(time: "T", level: "INFO", label: "baton.scheduler", message: "HELLO", fields: [("executor", forged)])
        #expect(line.filter { $0 == "\n" }.count == 1)
        #expect(line.hasSuffix("\n"))
        #expect(line.contains("executor=\"x\\n2026-01-01T00:00:00Z ERROR baton.scheduler: leader lost role=scheduler\""))
    }

    @Test(arguments: [
        ("a\rb", "\"a\\rb\""), ("a\tb", "\"a\\tb\""), ("back\\slash", "\"back\\\\slash\""), ("nul\u{0}", "\"nul\\u{0}\""),
        ("esc\u{1B}[31m", "\"esc\\u{1b}[31m\""), ("ls\u{2028}x", "\"ls\\u{2028}x\""), ("bidi\u{202E}x", "\"bidi\\u{202e}x\""),
        ("nel\u{85}x", "\"nel\\u{85}x\""), ("café", "café"),
    ])
    func controlAndInvisibleCharactersAreEscaped(value: String, expected: String) {
        #expect(LogLine.escapedValue(value) == expected)
    }

    @Test func theMessageKeepsItsSpacesButNotItsLineBreaks() {
        #expect(LogLine.escapedMessage("leader iteration failed: bad\nINFO forged") == "leader iteration failed: bad\\nINFO forged")
        #expect(LogLine.escapedMessage("a\\nb") == "a\\\\nb")
    }

    @Test func keysCannotCarryEqualsOrSpaces() {
        #expect(LogLine.escapedKey("a b=c\n") == "a_b_c_")
        #expect(LogLine.escapedKey("") == "_")
    }
}

@Suite("Secrets in URLs and argv")
struct URLAndArgvRedactionTests {
    @Test(arguments: [
        ("https://user:hunter2@example.com/path?x=1", "https://***@example.com/path?x=1"),
        ("https://token@example.com", "https://***@example.com"),
        ("http://example.com/run?token=abc&page=2", "http://example.com/run?token=***&page=2"),
        ("http://example.com/?api_key=abc&Signature=xyz&X-Amz-Credential=c&sig=s&auth=a",
         "http://example.com/?api_key=***&Signature=***&X-Amz-Credential=***&sig=***&auth=***"),
        ("http://example.com/?access%5Ftoken=abc", "http://example.com/?access%5Ftoken=***"),
        ("http://example.com/cb#access_token=abc&state=1", "http://example.com/cb#access_token=***&state=1"),
        ("http://example.com/a@b?q=1", "http://example.com/a@b?q=1"),
        ("http://example.com/?flag&password=", "http://example.com/?flag&password=***"),
        ("not a url ?password=x", "not a url ?password=***"),
        ("http://example.com/plain", "http://example.com/plain"),
    ])
    func urls(url: String, expected: String) {
        #expect(Secrets.redactedURL(url) == expected)
    }

    @Test func argv() {
        let argv = [
            "/usr/bin/deploy", "--password", "hunter2", "--token=abc", "API_KEY=xyz", "--region", "eu", "-v",
            "https://u:p@host/x?secret=1", "--count=3", "plain",
        ]
        #expect(
            Secrets.redactedArgv(argv) == [
                "/usr/bin/deploy", "--password", "***", "--token=***", "API_KEY=***", "--region", "eu", "-v",
                "https://***@host/x?secret=***", "--count=3", "plain",
            ])
    }

    @Test func theProgramItselfIsNeverHidden() {
        #expect(Secrets.redactedArgv(["--password"]) == ["--password"])
        #expect(Secrets.redactedArgv(["tokenizer", "--key"]) == ["tokenizer", "--key"])
    }
}
