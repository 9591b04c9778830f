// swift-tools-version:6.0
// ofad: serves OFA visual entailment (OFA-SNLI-VE Large) and shows where the model looked.
import PackageDescription

let package = Package(
    name: "ofad",
    products: [
        .library(name: "OFA", targets: ["OFA"]),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .target(
            name: "OFA",
            dependencies: ["COpenBLAS"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .executableTarget(name: "ofa-benchmark", dependencies: ["OFA"], path: "Sources/ofa-benchmark"),
        .testTarget(name: "OFATests", dependencies: ["OFA"]),
    ],
    swiftLanguageModes: [.v5]
)
