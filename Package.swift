// swift-tools-version:6.0
import PackageDescription

let testSettings: [SwiftSetting] = [.unsafeFlags(["-Onone"], .when(configuration: .release))]
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "fx",
    products: [
        .library(name: "FXCore", targets: ["FXCore"]),
        .executable(name: "fx-pair", targets: ["fx-pair"]),
        .executable(name: "fx-mask", targets: ["fx-mask"]),
        .executable(name: "fx-train", targets: ["fx-train"]),
        .executable(name: "fx-eval", targets: ["fx-eval"]),
        .executable(name: "fx-cluster", targets: ["fx-cluster"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CArchive",
            pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]
        ),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "FXCore",
            dependencies: [
                "CArchive",
                "COpenBLAS",
                argumentParser,
            ],
            // The tests run against the release build (`swift test -c release`): a debug build of the engine trains
            // too slowly to wait for, and one optimised build then serves the tools, the tests and the man pages.
            // The release build leaves out the run-time exclusivity checks (Swift 6 mode checks data races at
            // compile time; the debug build keeps the run-time checks): they cost fx-mask 7% on short records.
            swiftSettings: [.unsafeFlags(["-enable-testing", "-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .executableTarget(name: "fx-pair", dependencies: ["FXCore", argumentParser]),
        .executableTarget(name: "fx-mask", dependencies: ["FXCore", argumentParser]),
        .executableTarget(name: "fx-train", dependencies: ["FXCore", argumentParser]),
        .executableTarget(name: "fx-eval", dependencies: ["FXCore", argumentParser]),
        .executableTarget(name: "fx-cluster", dependencies: ["FXCore", argumentParser]),
        // The tests themselves are compiled unoptimised even in the release build: the work they check runs in
        // FXCore and the tools, and optimising the test code cost CI about a minute more to compile.
        .testTarget(name: "FXCoreTests", dependencies: ["FXCore"], swiftSettings: testSettings),
        .testTarget(name: "EndToEndTests", dependencies: ["FXCore"], swiftSettings: testSettings),
    ],
    swiftLanguageModes: [.v6]
)
