// swift-tools-version:6.0
// Micro-benchmarks of the storage engine, kept out of the main package so that its build and CI don't pay for
// them. Run from this folder: `swift run -c release storage-bench`.
import Foundation
import PackageDescription

// The main package is two folders up; SwiftPM names a path dependency after its folder.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
let rootIdentity = root.lastPathComponent.lowercased()

let package = Package(
    name: "GodisBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "storage-bench",
            dependencies: [.product(name: "Storage", package: rootIdentity)]
        )
    ]
)
