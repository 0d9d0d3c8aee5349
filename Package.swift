// swift-tools-version: 6.1
import PackageDescription

import class Foundation.ProcessInfo

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "scepter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "scepter", targets: ["scepter"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
    ],
    targets: [
        // Debian's OpenSSL 3 (libssl-dev); the shim turns macros into functions.
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // Debian's hiredis (libhiredis-dev): only its RESP reader is used.
        .systemLibrary(
            name: "CSQLite3",
            path: "Sources/CSQLite3",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(
            name: "ScepterRedis",
            dependencies: [
                "CHiredis", "ScepterProtocol",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Redis",
            swiftSettings: strict
        ),
        .target(
            name: "ScepterProtocol",
            dependencies: [
                "COpenSSL",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Sources/Protocol",
            swiftSettings: strict
        ),
        .target(
            name: "ScepterEdge",
            dependencies: [
                "ScepterProtocol", "ScepterRedis",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Edge",
            swiftSettings: strict
        ),
        .target(
            name: "ScepterControl",
            dependencies: [
                "ScepterProtocol", "ScepterRedis",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                "CSQLite3",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Control",
            resources: [.copy("API/openapi.yaml"), .copy("Console")],
            swiftSettings: strict
        ),
        // Embedded mode: edge and control plane wired together in one process.
        .target(
            name: "ScepterEmbedded",
            dependencies: [
                "ScepterProtocol", "ScepterEdge", "ScepterControl",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Embedded",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "scepter",
            dependencies: [
                "ScepterProtocol", "ScepterEdge", "ScepterControl", "ScepterEmbedded",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/scepter",
            swiftSettings: strict
        ),
        .target(
            name: "ScepterTesting",
            dependencies: [
                "ScepterProtocol",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Tests/ScepterTesting",
            resources: [.copy("Keys")],
            swiftSettings: strict
        ),
        // A stand-in for Entra ID, Microsoft Graph and the Intune services,
        // written from Microsoft's published contract; it checks every request.
        .target(
            name: "IntuneStandIn",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/IntuneStandIn",
            swiftSettings: strict
        ),
        .testTarget(
            name: "ScepterProtocolTests",
            dependencies: ["ScepterProtocol", "ScepterTesting"],
            path: "Tests/ScepterProtocolTests",
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ScepterEdgeTests",
            dependencies: [
                "ScepterEdge", "ScepterTesting", "ScepterProtocol", "ScepterRedis",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/ScepterEdgeTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "ScepterRedisTests",
            dependencies: ["ScepterRedis", "ScepterTesting", "ScepterProtocol"],
            path: "Tests/ScepterRedisTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "ScepterControlTests",
            dependencies: [
                "ScepterControl", "ScepterTesting", "IntuneStandIn",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/ScepterControlTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "ScepterEmbeddedTests",
            dependencies: [
                "ScepterEmbedded", "ScepterTesting", "IntuneStandIn",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Tests/ScepterEmbeddedTests",
            swiftSettings: strict
        ),
        // Real `scepter control` and `scepter edge` processes with Redis and PostgreSQL.
        .testTarget(
            name: "ClusterTests",
            dependencies: [
                "ScepterTesting", "ScepterProtocol", "IntuneStandIn",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/ClusterTests",
            swiftSettings: strict
        ),
        // The `scepter` executable's own parts (the log handler, the request deadline), in process.
        .testTarget(
            name: "ScepterCommandTests",
            dependencies: [
                "scepter", "ScepterProtocol", "ScepterTesting", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            path: "Tests/ScepterCommandTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "InteropTests",
            dependencies: ["ScepterTesting", "ScepterProtocol", "IntuneStandIn"],
            path: "Tests/InteropTests",
            swiftSettings: strict
        ),
    ]
)

// libFuzzer targets (Fuzz/README.md), one executable per parser of untrusted
// input. Only part of the package with SCEPTER_FUZZ=1, so a normal build never
// sees them; `scripts/fuzz` builds them with --sanitize fuzzer --sanitize address.
if ProcessInfo.processInfo.environment["SCEPTER_FUZZ"] == "1" {
    package.targets.append(
        .target(
            name: "ScepterFuzzTargets",
            dependencies: [
                "COpenSSL", "ScepterProtocol", "ScepterTesting",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Fuzz/Sources/ScepterFuzzTargets",
            swiftSettings: strict
        ))
    for name in ["pkimessage", "envelope", "csr", "issuer-and-serial", "intune-challenge", "intune-claim", "query", "ocsp"] {
        package.targets.append(
            .executableTarget(
                name: "fuzz-\(name)", dependencies: ["ScepterFuzzTargets"], path: "Fuzz/Sources/fuzz-\(name)", swiftSettings: strict))
        package.products.append(.executable(name: "fuzz-\(name)", targets: ["fuzz-\(name)"]))
    }
}
