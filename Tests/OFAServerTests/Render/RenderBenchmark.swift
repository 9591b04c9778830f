// What render costs in the daemon beyond the forward pass: a 12-layer GIF and a grid over a 1024×768 image.
// Not a timed test: runs only with OFAD_RENDER_BENCHMARK_MODEL=DIR (an OFA-large-shaped model directory, e.g. the
// random one Tools/fixtures/large_precision.py makes; best in release) and prints figures for BENCHMARKS.md.
import Foundation
import ImageIO
import OFAServer
import OFAWire
import XCTest

final class RenderBenchmark: XCTestCase {
    func testRenderTimeBeyondTheForwardPass() throws {
        guard let model = ProcessInfo.processInfo.environment["OFAD_RENDER_BENCHMARK_MODEL"] else {
            throw XCTSkip("SKIPPED: benchmark; set OFAD_RENDER_BENCHMARK_MODEL to a model directory")
        }
        let server = try TestDaemon(loader: PipelineEngine.loader) {
            $0.modelDirectory = model
            $0.requestTimeoutSeconds = 600
        }
        var pixels = [UInt8](repeating: 0, count: 1024 * 768 * 3)
        for index in pixels.indices { pixels[index] = UInt8(truncatingIfNeeded: (index * 2_654_435_761) >> 13) }
        let image = try PNGEncoder.encode(RGBImage(width: 1024, height: 768, pixels: pixels))
        let client = try server.client()
        var lines: [String] = []
        for (name, output, extra) in [
            ("overlay, last layer", "overlay", [String: JSONValue]()),
            ("grid, all layers, 320 px cells", "grid", [:]),
            ("animation, all layers, 1024×768 frames", "animation", [:]),
            ("stats, all layers", "stats", [:]),
        ] {
            var samples: [(render: Double, total: Double, model: Double, bytes: Int)] = []
            for run in 0..<4 {
                var params: [String: JSONValue] = [
                    "image": ["data": .string(Data(image).base64EncodedString())],
                    "hypothesis": .string("two birds on a branch"), "smoothing": 1,
                ]
                if output != "stats" { params["output"] = .string(output) }
                params.merge(extra) { _, new in new }
                let start = DispatchTime.now().uptimeNanoseconds
                let result = try client.call(output == "stats" ? Method.stats : Method.render, params: .object(params))
                let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                let timings = try XCTUnwrap(result["timings"]).decode(Timings.self)
                let bytes = result["data"]?.stringValue?.count ?? 0
                if run > 0 { samples.append((timings.renderMs ?? 0, wall, timings.modelMs, bytes)) }
            }
            samples.sort { $0.render < $1.render }
            let median = samples[samples.count / 2]
            lines.append(
                String(
                    format: "%@: render_ms %.1f, forward %.0f ms, client wall %.0f ms, base64 %d bytes", name,
                    median.render, median.model, median.total, median.bytes))
        }
        print("RENDER BENCHMARK\n" + lines.joined(separator: "\n"))
    }
}
