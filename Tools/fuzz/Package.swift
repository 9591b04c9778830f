// swift-tools-version:6.0
// libFuzzer targets over ofad's untrusted-input parsers; build and run them with Tools/fuzz/run.sh (docs/fuzzing.md).
import PackageDescription

/// One executable per fuzz target; each defines LLVMFuzzerTestOneInput and links libFuzzer's main.
func fuzzTarget(_ name: String, _ products: [String]) -> Target {
    .executableTarget(
        name: "fuzz-\(name)",
        dependencies: products.map { .product(name: $0, package: "ofad") },
        path: "Sources/fuzz-\(name)",
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
    )
}

let package = Package(
    name: "ofad-fuzz",
    dependencies: [.package(name: "ofad", path: "../..")],
    targets: [
        fuzzTarget("image", ["ImageIO"]),
        fuzzTarget("exif", ["ImageIO"]),
        fuzzTarget("wire", ["OFAWire", "ImageIO"]),
        fuzzTarget("checkpoint", ["OFA"]),
    ],
    swiftLanguageModes: [.v5]
)
