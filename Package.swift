// swift-tools-version: 6.2
// Baton: a distributed job scheduler. Module direction is one-way (CONTRACT §1):
// BatonCore (pure) ← BatonStore (the store boundary: protocols and value types, no GRDB) ← BatonSQLite (GRDB);
// BatonCore ← BatonStore, ZeroMQ, BatonRuntime (metrics, health endpoint, logs) ← Scheduler / Executor / Gateway (never each other, never a concrete store)
// ← baton, the composition root, which builds the concrete store and hands it to the roles. Benchmark code lives in
// BatonBench (on BatonSQLite), linked only by baton for `baton bench`. Linux only (Debian packages): no macOS platform.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "Baton",
    products: [
        .executable(name: "baton", targets: ["baton"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        // The PostgreSQL backend (issue 14): the one maintained Swift PostgreSQL client on NIO, so Baton can run its
        // roles on several hosts over one shared database. It earns its build minutes (NIO, NIOSSL) only because there
        // is no other way to speak PostgreSQL's wire protocol; it also brings `PostgresClient`, a pooled
        // swift-service-lifecycle Service, which fits the roles' ServiceGroups.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.21.0"),
        // The console's HTML (Docs/Console.md): logic-less templates that escape by default, Hummingbird's own package,
        // no build step and no JavaScript toolchain. Templates are Swift string literals, so the binary stays one file.
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"], swiftSettings: strict),
        // libcurl's C API for HTTP actions (the same libcurl FoundationNetworking links; Sources/Executor/CurlTransport.swift).
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(
            name: "BatonCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // The store boundary: protocols and value types only, so a second backend implements it without GRDB.
        .target(name: "BatonStore", dependencies: ["BatonCore"], swiftSettings: strict),
        // The SQLite stores on GRDB. Only the composition root (`baton`) and tests link it.
        .target(
            name: "BatonSQLite",
            dependencies: [
                "BatonCore", "BatonStore", .product(name: "GRDB", package: "GRDB.swift"),
                // The same system SQLite GRDB links, for the few hot statements stepped directly (RawRows.swift).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // The PostgreSQL stores on postgres-nio, for roles on several hosts. Only `baton` and tests link it.
        .target(
            name: "BatonPostgres",
            dependencies: [
                "BatonCore", "BatonStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // Only to recognise the pool's own errors (ConnectionPoolError), which PostgresNIO passes through.
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Scheduler",
            dependencies: [
                "BatonCore", "BatonStore", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Executor",
            dependencies: [
                "BatonCore", "BatonStore", "ZeroMQ", "CCurl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Plumbing every role shares: metrics bootstrap and the /metrics /healthz /readyz endpoint, listen addresses,
        // the log handler. No role-specific code, so a scheduler process no longer links the gateway for its metrics.
        .target(
            name: "BatonRuntime",
            dependencies: [
                "BatonCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "BatonCore",
                "BatonStore",
                "BatonRuntime",
                "ZeroMQ",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // `baton bench`: the bench cluster and SQLiteBenchmarkStore, out of every production module. It reaches into
        // BatonSQLite's row helpers through `package` access, so the benchmarks write exactly what the product writes.
        .target(
            name: "BatonBench",
            dependencies: [
                "BatonCore", "BatonStore", "BatonSQLite", "BatonPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "baton",
            dependencies: [
                "BatonCore",
                "BatonStore",
                "BatonSQLite",
                "BatonPostgres",
                "BatonBench",
                "BatonRuntime",
                "Gateway",
                "Scheduler",
                "Executor",
                "ZeroMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "BatonCoreTests", dependencies: ["BatonCore", "BatonTestSupport"], swiftSettings: strict),
        // One contract suite for every store protocol, run against each backend (`StoreBackend.all`): a new backend is
        // done when it passes the same tests.
        .testTarget(
            name: "StoreContractTests",
            dependencies: [
                "BatonCore", "BatonStore", "BatonSQLite", "BatonSQLiteTestSupport", "BatonPostgres",
                "BatonPostgresTestSupport",
            ],
            swiftSettings: strict),
        // One private PostgreSQL 15 cluster per test process (initdb into a temp dir, stopped by PID at exit) and a
        // fresh database per fixture: the contract suite's PostgreSQL backend.
        .target(
            name: "BatonPostgresTestSupport",
            dependencies: [
                "BatonCore", "BatonStore", "BatonPostgres", "BatonTestSupport", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/PostgresSupport",
            swiftSettings: strict),
        // The parts beside the PostgreSQL backend: the clock-offset estimator, BATON_DB parsing (pure), and the
        // connection settings (statement and idle-in-transaction timeouts, the start-up check) on a real server.
        .testTarget(
            name: "BatonPostgresTests",
            dependencies: [
                "BatonCore", "BatonStore", "BatonPostgres", "BatonPostgresTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strict),
        // A temporary, migrated SQLite database: the contract suite's SQLite backend and the SQLite tests' fixture.
        .target(
            name: "BatonSQLiteTestSupport", dependencies: ["BatonStore", "BatonSQLite", "BatonTestSupport"], path: "Tests/SQLiteSupport",
            swiftSettings: strict),
        // What only the SQLite backend has: checkpoints, migrations, query plans, raw rows, grouped writes.
        .testTarget(
            name: "BatonSQLiteTests",
            dependencies: [
                "BatonCore", "BatonStore", "BatonSQLite", "BatonSQLiteTestSupport", "BatonTestSupport", "BatonBench",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict),
        // Test helpers shared by test targets: a recording HTTP server, child `baton` processes, bounded waits.
        .target(name: "BatonTestSupport", dependencies: ["BatonCore", "BatonStore"], path: "Tests/Support", swiftSettings: strict),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "BatonCore", "BatonStore", "BatonSQLite", "BatonTestSupport", "BatonPostgresTestSupport", "ZeroMQ",
                // Direct SQL for end-to-end invariants (PRAGMA integrity_check, one ticket per (job, slot)).
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict),
        // The `baton` command's own logic (token file, client credentials), through `@testable import baton`, and the
        // real binary's start-up against an unreachable or misnamed PostgreSQL database.
        .testTarget(name: "BatonCLITests", dependencies: ["baton", "BatonTestSupport", "BatonPostgresTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "SchedulerTests",
            dependencies: [
                "Scheduler", "BatonCore", "BatonStore",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"], swiftSettings: strict),
        .testTarget(
            name: "ExecutorTests",
            dependencies: [
                "Executor", "BatonCore", "BatonStore", "BatonSQLite", "ZeroMQ", "BatonTestSupport", "BatonSQLiteTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway",
                "BatonRuntime",
                "BatonCore",
                "BatonStore",
                "BatonSQLite",
                "BatonTestSupport",
                "ZeroMQ",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
