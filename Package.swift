// swift-tools-version: 6.2
// The IoMT backbone: event-sourced ingest, projection workers and query service.
// Module layout and dependency direction: DESIGN.md §2 (executables → services and
// plugins → ProjectionKit/ServiceSupport → Kafka/Events/Clinical).

import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "iomt-backbone",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "Events", targets: ["Events"]),
        .library(name: "Clinical", targets: ["Clinical"]),
        .library(name: "ServiceSupport", targets: ["ServiceSupport"]),
        .executable(name: "iomt", targets: ["iomt"]),
        .executable(name: "iomt-ingest", targets: ["iomt-ingest"]),
        .executable(name: "iomt-patient-state", targets: ["iomt-patient-state"]),
        .executable(name: "iomt-asset-inventory", targets: ["iomt-asset-inventory"]),
        .executable(name: "iomt-alerts", targets: ["iomt-alerts"]),
        .executable(name: "iomt-query", targets: ["iomt-query"]),
        .library(name: "ProjectionKit", targets: ["ProjectionKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "4.0.0"..<"5.0.0"),
    ],
    targets: [
        // librdkafka 2.x as a system library. Only the Kafka module imports it.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Events",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Clinical",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ServiceSupport",
            dependencies: [
                "Kafka",
                "Events",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IngestService",
            dependencies: [
                "Events",
                "Kafka",
                "ServiceSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ProjectionKit",
            dependencies: [
                "Events",
                "Kafka",
                "ServiceSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PatientState",
            dependencies: [
                "Events",
                "Clinical",
                "ProjectionKit",
                "ServiceSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Simulator",
            dependencies: ["Events", "Clinical"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AssetInventory",
            dependencies: ["Events", "ProjectionKit", "ServiceSupport", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Alerts",
            dependencies: [
                "Events", "Clinical", "ProjectionKit", "ServiceSupport", "PatientState", "AssetInventory", "Kafka",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WorkerTestSupport",
            dependencies: ["Events", "Kafka", "ServiceSupport", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "iomt-asset-inventory",
            dependencies: ["AssetInventory", "ProjectionKit"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "iomt-alerts",
            dependencies: ["Alerts", "ProjectionKit"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "iomt-patient-state",
            dependencies: ["PatientState", "ProjectionKit"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "QueryService",
            dependencies: [
                "Events", "Kafka", "ServiceSupport", "PatientState", "AssetInventory", "Alerts",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "iomt-query",
            dependencies: ["QueryService", "ServiceSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "iomt-ingest",
            dependencies: [
                "IngestService",
                "ServiceSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "iomt",
            dependencies: [
                "Kafka",
                "Events",
                "ServiceSupport",
                "IngestService",
                "ProjectionKit",
                "PatientState",
                "AssetInventory",
                "Alerts",
                "QueryService",
                "Simulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: ["Kafka"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProjectionKitTests",
            dependencies: [
                "ProjectionKit", "Events", "Kafka", "ServiceSupport", "WorkerTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EventsTests",
            dependencies: ["Events"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IngestServiceTests",
            dependencies: [
                "IngestService",
                "ServiceSupport",
                "Events",
                "Kafka",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PatientStateTests",
            dependencies: [
                "PatientState",
                "WorkerTestSupport",
                "Simulator",
                "ProjectionKit",
                "ServiceSupport",
                "Events",
                "Kafka",
                "Clinical",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AlertsTests",
            dependencies: [
                "Alerts", "AssetInventory", "PatientState", "ProjectionKit", "WorkerTestSupport", "Simulator", "Events", "Kafka", "ServiceSupport", "Clinical",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AssetInventoryTests",
            dependencies: ["AssetInventory", "WorkerTestSupport", "Simulator", "Events", "Kafka", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "QueryServiceTests",
            dependencies: [
                "QueryService", "ServiceSupport", "Events", "Kafka", "WorkerTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SimulatorTests",
            dependencies: ["Simulator", "Clinical", "Events"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "WorkerTestSupport", "Simulator", "Clinical", "Events", "Kafka", "ServiceSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ClinicalTests",
            dependencies: ["Clinical"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ServiceSupportTests",
            dependencies: ["ServiceSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
