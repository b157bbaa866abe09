// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "fx",
    products: [
        .library(name: "FXCore", targets: ["FXCore"]),
        .executable(name: "fx-pair", targets: ["fx-pair"]),
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
        .target(
            name: "FXCore",
            dependencies: [
                "CArchive",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "fx-pair", dependencies: ["FXCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "FXCoreTests", dependencies: ["FXCore"]),
        .testTarget(name: "EndToEndTests", dependencies: ["FXCore"]),
    ],
    swiftLanguageModes: [.v5]
)
