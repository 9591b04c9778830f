// The image-feature cache through the daemon: bounded by the features' bytes, and shown by status and metrics.
import OFAServer
import OFAWire
import XCTest

final class ImageCacheTests: XCTestCase {
    private func image(_ index: Int) -> [UInt8] { grayPNG(width: 8, height: 8) { x, y in UInt8(x * y + index) } }

    /// A fresh hypothesis each time, so no answer comes from the result cache.
    private func predict(_ client: WireClient, _ image: [UInt8], _ hypothesis: String = "a cat") throws
        -> PredictResult
    {
        try client.call(Method.predict, TestDaemon.predictParams([hypothesis], image: image), as: PredictResult.self)
    }

    func testImagesAreEvictedByTheirFeatureBytesAndStatusAndMetricsShowTheFigures() throws {
        let engine = FakeEngine()
        engine.featureBytes = 1000
        let server = try TestDaemon(engine: engine) { $0.imageCacheBytes = 2500 }
        let client = try server.client()
        for index in 0..<3 { _ = try predict(client, image(index)) }
        let cache = try client.call(Method.status, as: StatusResult.self).imageCache
        XCTAssertEqual(cache.entries, 2, "two of 1000 bytes fit in 2500")
        XCTAssertEqual(cache.bytes, 2000)
        XCTAssertEqual(cache.byteLimit, 2500)
        XCTAssertEqual(cache.evictions, 1)
        XCTAssertNil(cache.capacity, "bounded by bytes, not entries")
        XCTAssertTrue(try predict(client, image(2), "a bird").timings.imageCached, "the newest image stayed")
        XCTAssertFalse(try predict(client, image(0), "a bird").timings.imageCached, "the oldest was evicted")

        let text = try client.call(Method.metrics, as: MetricsResult.self).text
        XCTAssertTrue(text.contains("# TYPE ofad_cache_bytes gauge"), text)
        XCTAssertTrue(text.contains("ofad_cache_bytes{cache=\"image\"} 2000"), text)
        XCTAssertTrue(text.contains("ofad_cache_limit_bytes{cache=\"image\"} 2500"), text)
        XCTAssertTrue(text.contains("ofad_cache_entries{cache=\"image\"} 2"), text)
        XCTAssertFalse(text.contains("ofad_cache_bytes{cache=\"result\"}"), "the result cache counts entries")
    }

    func testFeaturesLargerThanTheWholeBudgetAreComputedEachTime() throws {
        let engine = FakeEngine()
        engine.featureBytes = 5000
        let server = try TestDaemon(engine: engine) { $0.imageCacheBytes = 2500 }
        let client = try server.client()
        let before = engine.counts.prepare
        XCTAssertFalse(try predict(client, image(7)).timings.imageCached)
        XCTAssertFalse(try predict(client, image(7), "a dog").timings.imageCached)
        XCTAssertEqual(engine.counts.prepare - before, 2, "not cached")
        let cache = try client.call(Method.status, as: StatusResult.self).imageCache
        XCTAssertEqual(cache.entries, 0)
        XCTAssertEqual(cache.bytes, 0)
    }

    func testAZeroBudgetTurnsTheImageCacheOff() throws {
        let engine = FakeEngine()
        let server = try TestDaemon(engine: engine) { $0.imageCacheBytes = 0 }
        let client = try server.client()
        _ = try predict(client, image(1))
        XCTAssertFalse(try predict(client, image(1), "a dog").timings.imageCached)
        XCTAssertEqual(try client.call(Method.status, as: StatusResult.self).imageCache.entries, 0)
    }
}
