// swift-tools-version:6.0
// ofad: serves OFA visual entailment (OFA-SNLI-VE Large) and shows where the model looked.
import PackageDescription

let package = Package(
    name: "ofad",
    products: [
        .library(name: "OFA", targets: ["OFA"]),
        .library(name: "BackendConformance", targets: ["BackendConformance"]),
        .library(name: "ImageIO", targets: ["ImageIO"]),
        .library(name: "OFAPreprocessing", targets: ["OFAPreprocessing"]),
        .library(name: "OFAPipeline", targets: ["OFAPipeline"]),
        .library(name: "OFAWire", targets: ["OFAWire"]),
        .library(name: "OFAServer", targets: ["OFAServer"]),
        .library(name: "Visualize", targets: ["Visualize"]),
        .library(name: "OFAExplanation", targets: ["OFAExplanation"]),
        .executable(name: "ofad", targets: ["ofad"]),
        .executable(name: "ofactl", targets: ["ofactl"]),
        .library(name: "OFAWeb", targets: ["OFAWeb"]),
        .executable(name: "ofa-web", targets: ["ofa-web"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        // oneDNN for products and convolutions (Debian: libdnnl-dev; OpenMP threads).
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // The softmax and LayerNorm kernels, vectorised per instruction set (chosen at run time), on OpenMP's threads.
        .target(name: "CKernels", linkerSettings: [.linkedLibrary("gomp")]),
        // CUDA's driver, cuBLAS and NVRTC opened at run time (dlopen): nothing of CUDA is needed to build.
        .target(name: "CCUDA"),
        .target(
            name: "OFA",
            dependencies: ["CDNNL", "CKernels", "CCUDA"]
        ),
        // libjpeg-turbo + libpng behind a setjmp-safe C helper (Debian: libjpeg62-turbo-dev, libpng-dev).
        .target(
            name: "CImageCodecs",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]
        ),
        .target(name: "ImageIO", dependencies: ["CImageCodecs"]),
        .target(
            name: "OFAPreprocessing",
            dependencies: ["ImageIO"]
        ),
        .target(name: "OFAPipeline", dependencies: ["OFA", "OFAPreprocessing", "ImageIO"]),
        // giflib for animated GIFs (Debian: libgif-dev).
        .systemLibrary(name: "CGIF", path: "Sources/CGIF"),
        .target(
            name: "Visualize",
            dependencies: ["OFA", "ImageIO", "CGIF", "OFAWire"]
        ),
        .executableTarget(name: "ofa-benchmark", dependencies: ["OFA"], path: "Sources/ofa-benchmark"),
        .executableTarget(
            name: "ofa-device-check",
            dependencies: [
                "OFA", "BackendConformance", "OFAServer", "OFAWire", "ImageIO",
                .product(name: "Logging", package: "swift-log"),
            ], path: "Sources/ofa-device-check"),
        .executableTarget(
            name: "ofa-preprocess-benchmark", dependencies: ["OFAPreprocessing"],
            path: "Sources/ofa-preprocess-benchmark"
        ),
        .executableTarget(
            name: "ofa-render-benchmark", dependencies: ["Visualize", "ImageIO", "OFA"],
            path: "Sources/ofa-render-benchmark"
        ),
        .testTarget(name: "OFATests", dependencies: ["OFA", "CKernels", "FixtureSupport", "BackendConformance"]),
        .target(name: "BackendConformance", dependencies: ["OFA"]),
        .testTarget(name: "BackendConformanceTests", dependencies: ["BackendConformance", "OFA", "FixtureSupport"]),
        .target(
            name: "FixtureSupport",
            dependencies: ["ImageIO", "OFA", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/FixtureSupport"
        ),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO", "CImageCodecs", "FixtureSupport"]),
        .testTarget(name: "OFAPreprocessingTests", dependencies: ["OFAPreprocessing", "FixtureSupport"]),
        .testTarget(name: "OFAPipelineTests", dependencies: ["OFAPipeline", "FixtureSupport"]),

        // The daemon side: wire protocol, server library, and two thin executables.
        .target(name: "OFAWire"),
        // Each executable's settings written once (option, environment variable, default, help, validation).
        .target(name: "ServiceSettings", dependencies: [.product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ServiceSettingsTests", dependencies: ["ServiceSettings"]),
        // Explanations over the pipeline: the attention method's arrays, render and stats (maps, statistics, files).
        .target(name: "OFAExplanation", dependencies: ["OFA", "OFAPipeline", "Visualize", "OFAWire", "ImageIO"]),
        .testTarget(
            name: "OFAExplanationTests",
            dependencies: ["OFAExplanation", "OFAPipeline", "OFA", "OFAWire", "Visualize", "FixtureSupport"]),
        // libsystemd: sd_notify, socket activation, the watchdog (Debian: libsystemd-dev).
        .systemLibrary(
            name: "CSystemd", path: "Sources/CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]
        ),
        // openat2 / O_NOFOLLOW walks: image paths opened beneath their root without following links (Linux).
        .target(name: "CFileAccess"),
        .target(
            name: "OFAServer",
            dependencies: [
                "CFileAccess",
                "ServiceSettings",
                "OFAWire",
                "OFAExplanation",
                "OFAPipeline",
                "OFA",
                "OFAPreprocessing",
                "ImageIO",
                "CSystemd",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .executableTarget(
            name: "ofad",
            dependencies: [
                "OFAServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "ofactl",
            dependencies: ["OFAWire", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "OFAWireTests", dependencies: ["OFAWire"]),
        .testTarget(
            name: "OFAServerTests",
            dependencies: [
                "OFAServer", "OFAWire", "OFAPipeline", "OFAPreprocessing", "OFA", "ImageIO", "Visualize",
                "FixtureSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "VisualizeTests", dependencies: ["Visualize", "ImageIO", "OFA", "OFAWire", "FixtureSupport"]
        ),

        // The browser client: an HTTP front end that forwards to ofad over the wire client; no model here.
        .target(
            name: "OFAWeb",
            dependencies: [
                "OFAWire",
                "ServiceSettings",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [
                .embedInCode("Assets/index.html"), .embedInCode("Assets/app.js"), .embedInCode("Assets/app.css"),
                .embedInCode("Assets/favicon.svg"),
            ]
        ),
        .executableTarget(
            name: "ofa-web",
            dependencies: [
                "OFAWeb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/ofa-web"
        ),
        // OFAServer only for tests that run the daemon in-process: its defaults, and an engine they can hold.
        .testTarget(
            name: "OFAWebTests",
            dependencies: [
                "OFAWeb", "OFAWire", "OFAServer", "OFAExplanation", "FixtureSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)
