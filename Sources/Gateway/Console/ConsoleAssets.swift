/// The console's one stylesheet. Its URL carries a hash of its text, so a browser may keep it for a year
/// (`immutable`): a new build with other CSS has another URL. The hash is also the ETag, for revalidation.
enum ConsoleAssets {
    static let stylesheet = """
        :root { color-scheme: light dark; --fg: #1d2330; --muted: #5f6b7a; --bg: #fbfbfc; --line: #d8dce3; --accent: #2457c5;
          --bad: #b3261e; --good: #1b7f3b; --warn: #8a5a00; }
        @media (prefers-color-scheme: dark) { :root { --fg: #e6e9ef; --muted: #9aa4b2; --bg: #15181e; --line: #2e3440; --accent: #7aa2ff;
          --bad: #ff8a80; --good: #7bd88f; --warn: #ffcc66; } }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
        header.top { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; border-bottom: 1px solid var(--line); }
        header.top nav { display: flex; gap: 1rem; align-items: center; flex: 1; }
        header.top nav form { margin-left: auto; }
        .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
        main { padding: 1rem 1.2rem; max-width: 80rem; }
        a { color: var(--accent); }
        a:focus, button:focus, input:focus, select:focus { outline: 2px solid var(--accent); outline-offset: 2px; }
        table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
        th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        code, pre { font: 13px/1.4 ui-monospace, monospace; }
        pre.spec { padding: .8rem; border: 1px solid var(--line); overflow-x: auto; }
        .muted { color: var(--muted); }
        .error { color: var(--bad); }
        .notice { color: var(--good); }
        .badge, .label { display: inline-block; padding: 0 .4rem; border: 1px solid var(--line); border-radius: .6rem; font-size: 12px; }
        .state-active, .state-succeeded { color: var(--good); }
        .state-paused, .state-skipped, .state-retrying { color: var(--warn); }
        .state-parked, .state-failed, .state-cancelled { color: var(--bad); }
        form.inline { display: inline; }
        form.stacked { display: grid; gap: .4rem; max-width: 28rem; }
        form.filters { display: flex; flex-wrap: wrap; gap: .4rem .8rem; align-items: center; }
        input, select, button, .button { font: inherit; padding: .3rem .6rem; border: 1px solid var(--line); border-radius: 4px; }
        button, .button { cursor: pointer; background: var(--bg); color: var(--fg); text-decoration: none; display: inline-block; }
        .danger { color: var(--bad); border-color: var(--bad); }
        .actions { display: flex; gap: .6rem; margin: 1rem 0; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        dt { color: var(--muted); }
        dd { margin: 0; }

        """

    /// FNV-1a (64 bits) of the stylesheet, in hex: enough to tell two versions apart; nothing secret depends on it.
    static let stylesheetVersion: String = {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in stylesheet.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }()

    static let stylesheetFile = "console-\(stylesheetVersion).css"
    static let stylesheetPath = "/console/assets/\(stylesheetFile)"
    static let stylesheetETag = "\"\(stylesheetVersion)\""
}
