// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Godis",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "godis-server", targets: ["godis-server"]),
        .executable(name: "godis-aof", targets: ["godis-aof"]),
        .library(name: "Storage", targets: ["Storage"]),
        .library(name: "RESP", targets: ["RESP"]),
        .library(name: "Client", targets: ["Client"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // RESP2/RESP3 values, the one decoder (with hard limits) and the encoder. No I/O.
        .target(name: "RESP"),
        // CRC32C (Castagnoli) with an SSE4.2 path and a portable table fallback.
        .target(name: "CGodisCRC"),
        // The log writer's C helpers: fallocate without a size change, a copy with non-temporal stores.
        .target(name: "CGodisStorage"),
        // Every file the server writes: the log format v1, writer, fsync policies, recovery, manifest. No sockets.
        .target(
            name: "Storage",
            dependencies: ["CGodisCRC", "CGodisStorage", "RESP", .product(name: "Logging", package: "swift-log")]
        ),
        // SipHash-1-2 with a per-process random key (Redis's dictionary hash), inline for the keyspace's lookups.
        .target(name: "CGodisHash"),
        // Keyspace, command table and command execution. No sockets.
        .target(
            name: "Engine",
            dependencies: ["RESP", "Storage", "CGodisHash", .product(name: "Logging", package: "swift-log")]
        ),
        // Linux socket calls Swift's Glibc module does not export (epoll, eventfd, accept4), for the epoll transport.
        .target(name: "CGodisNet"),
        // The server: sessions (bytes in, replies out) over an epoll or a SwiftNIO transport.
        .target(
            name: "Server",
            dependencies: [
                "Engine", "Storage", "RESP", "CGodisNet",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A small blocking RESP client for the CLI and the tests.
        .target(name: "Client", dependencies: ["RESP"]),
        .executableTarget(
            name: "godis-server",
            dependencies: [
                "Server",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Log tools: a thin shell over Storage's check and repair API.
        .executableTarget(
            name: "godis-aof",
            dependencies: ["Storage", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Helpers shared by the test targets (a seeded generator).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "RESPTests", dependencies: ["RESP", "TestSupport"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "Engine", "RESP", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "RESP", "Storage", "CGodisHash", "TestSupport"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "Client", "RESP"]),
    ],
    swiftLanguageModes: [.v5]
)

// The hot path runs on one thread and passes buffers by `inout`; dynamic exclusivity checks showed up at ~3% of
// server CPU in `perf` (swift_beginAccess/AccessSet::insert), so they are off in optimized builds of our targets.
for target in package.targets where target.type != .test {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
    ]
}
