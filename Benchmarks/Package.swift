// swift-tools-version: 6.1
import PackageDescription

import class Foundation.ProcessInfo

// The performance harness for Scepter (see README.md). A separate package so
// that its dependencies never touch the server's build: the server is run as
// a subprocess (the release `scepter` binary built from the root package).
var dependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
]

var targets: [Target] = [
    // Debian's OpenSSL 3 (libssl-dev): the library the server's CMS code uses.
    // Named apart from the server's COpenSSL so both can share one build graph.
    .systemLibrary(
        name: "CBenchOpenSSL",
        path: "Sources/CBenchOpenSSL",
        pkgConfig: "openssl",
        providers: [.apt(["libssl-dev"])]
    ),
    // CPU pinning and per-thread CPU clocks (glibc macros Swift cannot call).
    .target(name: "CBenchSupport", path: "Sources/CBenchSupport"),
    .executableTarget(
        name: "scepter-bench",
        dependencies: [
            "CBenchOpenSSL", "CBenchSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ],
        path: "Sources/ScepterBench",
        swiftSettings: [
            .enableUpcomingFeature("ExistentialAny"),
            .enableUpcomingFeature("MemberImportVisibility"),
        ]
    ),
]

// Codec microbenchmarks (ordo-one `benchmark`): PKIMessage.decode,
// CertRep.success, CertificationRequest. They need the root package to export
// ScepterProtocol as a library product,
//     .library(name: "ScepterProtocol", targets: ["ScepterProtocol"]),
// so they are only part of the package with SCEPTER_CODEC_BENCHMARKS=1:
//     SCEPTER_CODEC_BENCHMARKS=1 swift package --package-path Benchmarks \
//         --scratch-path Benchmarks/.build benchmark
if ProcessInfo.processInfo.environment["SCEPTER_CODEC_BENCHMARKS"] == "1" {
    dependencies += [
        .package(name: "scepter", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ]
    targets += [
        .executableTarget(
            name: "Codecs",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ScepterProtocol", package: "scepter"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Benchmarks/Codecs",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
}

let package = Package(
    name: "ScepterBenchmarks",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "scepter-bench", targets: ["scepter-bench"])
    ],
    dependencies: dependencies,
    targets: targets,
    swiftLanguageModes: [.v6]
)
