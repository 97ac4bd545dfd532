// swift-tools-version:5.9
// Minga for Swift: the generated bindings (Sources/Minga/Generated, written by
// scripts/build-bindings) and async wrappers, over MingaFFI.xcframework (the Rust library for
// every Apple target, built by build-xcframework.sh on a Mac). Not built on Linux.
import PackageDescription

let package = Package(
    name: "Minga",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Minga", targets: ["Minga"]),
    ],
    targets: [
        .binaryTarget(name: "MingaFFI", path: "MingaFFI.xcframework"),
        .target(name: "Minga", dependencies: ["MingaFFI"], path: "Sources/Minga"),
        .testTarget(name: "MingaTests", dependencies: ["Minga"], path: "Tests/MingaTests"),
    ]
)
