import ArgumentParser
import Foundation
import ZeroMQ

/// The scheduler's side of dispatch authentication (Docs/Configuration.md, "Dispatch link security").
struct DispatchServerOptions: ParsableArguments {
    @Option(help: "The schedulers' CURVE secret key, Z85 (env BATON_DISPATCH_SECRET_KEY; prefer the _FILE form).")
    var dispatchSecretKey: String?

    @Option(help: "File holding the CURVE secret key (env BATON_DISPATCH_SECRET_KEY_FILE).")
    var dispatchSecretKeyFile: String?

    @Option(help: "Comma list of client public keys the dispatch port accepts (env BATON_DISPATCH_CLIENT_KEYS).")
    var dispatchClientKeys: String?

    @Option(help: "File with one accepted client public key per line, # comments (env BATON_DISPATCH_CLIENT_KEYS_FILE).")
    var dispatchClientKeysFile: String?

    @Option(help: "Allow a non-loopback dispatch bind without keys: true or false (env BATON_DISPATCH_INSECURE, default false).")
    var dispatchInsecure: Bool?

    @Option(help: "Executors known at once; further HELLOs are ignored (env BATON_DISPATCH_MAX_PEERS, default 1024).")
    var dispatchMaxPeers: Int?

    func keys() throws -> CurveKeyPair? {
        try DispatchKeySettings.secretKey(dispatchSecretKey, file: dispatchSecretKeyFile)
    }

    func clientKeys() throws -> [CurvePublicKey] {
        try DispatchKeySettings.publicKeys(dispatchClientKeys, file: dispatchClientKeysFile, env: "BATON_DISPATCH_CLIENT_KEYS")
    }
}

/// An executor's or gateway's side: its own key pair and the schedulers' public key.
struct DispatchClientOptions: ParsableArguments {
    @Option(help: "This process's CURVE secret key, Z85 (env BATON_DISPATCH_SECRET_KEY; prefer the _FILE form).")
    var dispatchSecretKey: String?

    @Option(help: "File holding this process's CURVE secret key (env BATON_DISPATCH_SECRET_KEY_FILE).")
    var dispatchSecretKeyFile: String?

    @Option(help: "The schedulers' CURVE public key, Z85 (env BATON_DISPATCH_SERVER_KEY).")
    var dispatchServerKey: String?

    @Option(help: "File holding the schedulers' public key (env BATON_DISPATCH_SERVER_KEY_FILE).")
    var dispatchServerKeyFile: String?

    func keys() throws -> CurveKeyPair? {
        try DispatchKeySettings.secretKey(dispatchSecretKey, file: dispatchSecretKeyFile)
    }

    func serverKey() throws -> CurvePublicKey? {
        try DispatchKeySettings.publicKeys(dispatchServerKey, file: dispatchServerKeyFile, env: "BATON_DISPATCH_SERVER_KEY", single: true)
            .first
    }
}

/// Reads CURVE keys from flags, `BATON_*` variables or key files. Errors name the setting, never a secret value.
enum DispatchKeySettings {
    static func secretKey(_ flag: String?, file flagFile: String?) throws -> CurveKeyPair? {
        let env = "BATON_DISPATCH_SECRET_KEY"
        let text = Settings.optionalString(flag, env: env)
        let file = Settings.optionalString(flagFile, env: env + "_FILE")
        if text != nil && file != nil {
            throw ValidationError("set \(env) or \(env)_FILE, not both")
        }
        let (source, value): (String, String)
        if let text {
            (source, value) = ("\(env) / --\(Settings.flagName(env))", text)
        } else if let file {
            (source, value) = ("\(env)_FILE (\(file))", try keyLines(in: file, setting: env + "_FILE").first ?? "")
        } else {
            return nil
        }
        guard let secret = CurveSecretKey(z85: value.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ValidationError("\(source): not a CURVE secret key (40 characters of Z85; `baton dispatch-keys` makes one)")
        }
        return CurveKeyPair(secretKey: secret)
    }

    /// A comma list in the flag or variable, or a file with one key per line.
    static func publicKeys(_ flag: String?, file flagFile: String?, env: String, single: Bool = false) throws -> [CurvePublicKey] {
        let listed = Settings.optionalString(flag, env: env)
        let file = Settings.optionalString(flagFile, env: env + "_FILE")
        if listed != nil && file != nil {
            throw ValidationError("set \(env) or \(env)_FILE, not both")
        }
        let (source, texts): (String, [String])
        if let listed {
            (source, texts) = ("\(env) / --\(Settings.flagName(env))", listed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        } else if let file {
            (source, texts) = ("\(env)_FILE (\(file))", try keyLines(in: file, setting: env + "_FILE"))
        } else {
            return []
        }
        if single && texts.count != 1 {
            throw ValidationError("\(source): expected one public key, found \(texts.count)")
        }
        return try texts.map { text in
            guard let key = CurvePublicKey(z85: text) else {
                throw ValidationError("\(source): \"\(text.prefix(48))\" is not a CURVE public key (40 characters of Z85)")
            }
            return key
        }
    }

    /// The first word of every line that is neither blank nor a `#` comment (a word after the key may name it).
    static func keyLines(in path: String, setting: String) throws -> [String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("\(setting): cannot read \(path)")
        }
        return text.split(whereSeparator: \.isNewline).compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return nil }
            return trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
        }
    }
}

/// A directory holding one cluster's dispatch keys, as `baton up` and the compose `keys` service make it:
/// the schedulers' pair, one pair each for executors and gateways, and `clients`, the schedulers' allow list.
/// Existing files are kept, so running it again (every `baton up`, every `docker compose up`) changes nothing.
struct DispatchKeyDirectory {
    let directory: URL

    var schedulerSecret: URL { directory.appendingPathComponent("scheduler.secret") }
    var schedulerPublic: URL { directory.appendingPathComponent("scheduler.public") }
    var clients: URL { directory.appendingPathComponent("clients") }
    func secret(_ role: String) -> URL { directory.appendingPathComponent("\(role).secret") }
    func publicKey(_ role: String) -> URL { directory.appendingPathComponent("\(role).public") }

    static let clientRoles = ["executor", "gateway"]

    /// Creates whatever is missing; secrets are written owner-only (0600) in an owner-only directory (0700).
    @discardableResult
    static func ensure(_ directory: URL) throws -> DispatchKeyDirectory {
        let keys = DispatchKeyDirectory(directory: directory)
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var clientKeys: [(String, CurvePublicKey)] = []
        for role in ["scheduler"] + clientRoles {
            let pair = try keys.pair(role)
            if role != "scheduler" { clientKeys.append((role, pair.publicKey)) }
        }
        if !FileManager.default.fileExists(atPath: keys.clients.path) {
            let lines = clientKeys.map { "\($0.1.z85) \($0.0)" }
            try create("# Client public keys the dispatch port accepts, one per line.\n" + lines.joined(separator: "\n") + "\n", to: keys.clients, mode: 0o644)
        }
        return keys
    }

    /// The pair in `role.secret`, made (with its `role.public`) if there is none.
    private func pair(_ role: String) throws -> CurveKeyPair {
        if FileManager.default.fileExists(atPath: secret(role).path) {
            guard let text = try DispatchKeySettings.keyLines(in: secret(role).path, setting: "key directory").first,
                let key = CurveSecretKey(z85: text)
            else {
                throw ValidationError("\(secret(role).path) does not hold a CURVE secret key")
            }
            let pair = CurveKeyPair(secretKey: key)
            if !FileManager.default.fileExists(atPath: publicKey(role).path) {
                try Self.create(pair.publicKey.z85 + "\n", to: publicKey(role), mode: 0o644)
            }
            return pair
        }
        let pair = try CurveKeyPair.generate()
        try Self.create(pair.secretKey.z85 + "\n", to: secret(role), mode: 0o600)
        try? FileManager.default.removeItem(at: publicKey(role))
        try Self.create(pair.publicKey.z85 + "\n", to: publicKey(role), mode: 0o644)
        return pair
    }

    /// Creates `url` exclusively with `mode` from the start (never a moment with wider permissions).
    static func create(_ text: String, to url: URL, mode: mode_t) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ValidationError("cannot create \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw ValidationError("cannot write \(url.path)") }
        _ = fchmod(fd, mode)  // the umask may have narrowed a public key's 0644; a secret stays 0600 either way
    }

    /// The settings a role's child process needs to use these keys.
    /// The inline forms are blanked (empty counts as unset) so keys exported in the caller's shell cannot clash.
    func environment(role: String) -> [String: String] {
        var environment = ["BATON_DISPATCH_SECRET_KEY": "", "BATON_DISPATCH_CLIENT_KEYS": "", "BATON_DISPATCH_SERVER_KEY": ""]
        if role == "scheduler" {
            environment["BATON_DISPATCH_SECRET_KEY_FILE"] = schedulerSecret.path
            environment["BATON_DISPATCH_CLIENT_KEYS_FILE"] = clients.path
        } else {
            environment["BATON_DISPATCH_SECRET_KEY_FILE"] = secret(role).path
            environment["BATON_DISPATCH_SERVER_KEY_FILE"] = schedulerPublic.path
        }
        return environment
    }
}

/// `baton dispatch-keys`: makes CURVE key pairs for the dispatch link.
struct DispatchKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch-keys",
        abstract: "Make CURVE keys for the dispatch link between schedulers, executors and gateways.",
        discussion: """
            Without options, prints one new key pair. With --dir, makes (or completes) a cluster's key directory: \
            scheduler.secret/.public, executor.secret/.public, gateway.secret/.public and clients, the allow list; \
            existing files are kept. Secret files are created 0600. See Docs/Configuration.md.
            """
    )

    @Option(help: "Directory to fill with a cluster's keys (created 0700).")
    var dir: String?

    func run() async throws {
        try await reportingFailures {
            guard ZMQCapability.curve else {
                throw CLIFailure.usage("this libzmq was built without CURVE support (zmq_has(\"curve\") is false)")
            }
            guard let dir else {
                let pair = try CurveKeyPair.generate()
                print("public-key \(pair.publicKey.z85)")
                print("secret-key \(pair.secretKey.z85)")
                return
            }
            let keys: DispatchKeyDirectory
            do {
                keys = try DispatchKeyDirectory.ensure(URL(fileURLWithPath: dir))
            } catch let error as ValidationError {
                throw CLIFailure.usage(error.message)
            }
            print("dispatch keys in \(keys.directory.path)")
            for role in ["scheduler"] + DispatchKeyDirectory.clientRoles {
                let text = (try? String(contentsOf: keys.publicKey(role), encoding: .utf8)) ?? ""
                print("  \(role) public key \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        }
    }
}
