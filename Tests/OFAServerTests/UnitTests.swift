// The daemon's parts on their own: hashing, the queue and configuration (the cache: LRUCacheTests).
import Crypto
import Foundation
import OFAWire
import XCTest

@testable import OFAServer

final class SHA256Tests: XCTestCase {
    func testHexDigestsAreTheFIPSExamples() {
        XCTAssertEqual(SHA256.hexDigest(of: []), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            SHA256.hexDigest(of: Array("abc".utf8)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hexDigest(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(
            SHA256.hexDigest(of: [UInt8](repeating: 0x61, count: 1_000_000)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testADigestFedInPiecesHasTheSameHex() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 31) }
        var hasher = SHA256()
        for chunk in stride(from: 0, to: bytes.count, by: 37) {
            hasher.update(data: Array(bytes[chunk..<min(chunk + 37, bytes.count)]))
        }
        XCTAssertEqual(hasher.finalize().hexString, SHA256.hexDigest(of: bytes))
    }
}

final class RequestQueueTests: XCTestCase {
    func testJobsRunAndEachFinishesExactlyOnce() {
        let queue = RequestQueue(workers: 2, capacity: 100)
        defer { queue.stopWorkers() }
        let lock = NSLock()
        var results: [Int] = []
        for index in 0..<50 {
            let job = Job(
                timeoutSeconds: 10, work: { _ in .success(.integer(Int64(index))) },
                completion: { result in
                    if case .success(.integer(let value)) = result { lock.withLock { results.append(Int(value)) } }
                })
            XCTAssertEqual(queue.submit(job), .accepted)
            XCTAssertFalse(job.finish(.success(.null)) && job.finish(.success(.null)), "a second finish is ignored")
        }
        XCTAssertTrue(queue.waitUntilIdle(timeoutSeconds: 5))
        // Jobs finished here before a worker reached them are skipped, never run twice.
        XCTAssertEqual(Set(results).count, results.count)
    }

    func testAJobPastItsDeadlineInTheQueueIsAnsweredTimedOutWithoutRunning() {
        let queue = RequestQueue(workers: 1, capacity: 10)
        defer { queue.stopWorkers() }
        let blocker = DispatchSemaphore(value: 0)
        let ran = NSLock()
        var runs = 0
        let first = Job(
            timeoutSeconds: 10,
            work: { _ in
                blocker.wait()
                return .success(.null)
            }, completion: { _ in })
        let answered = DispatchSemaphore(value: 0)
        var code: Int?
        let second = Job(
            timeoutSeconds: 0.05,
            work: { _ in
                ran.withLock { runs += 1 }
                return .success(.null)
            },
            completion: { result in
                if case .failure(let error) = result { code = error.code }
                answered.signal()
            })
        XCTAssertEqual(queue.submit(first), .accepted)
        XCTAssertEqual(queue.submit(second), .accepted)
        Thread.sleep(forTimeInterval: 0.1)
        blocker.signal()
        XCTAssertEqual(answered.wait(timeout: .now() + 2), .success)
        XCTAssertEqual(code, RPCErrorCode.timedOut)
        XCTAssertEqual(ran.withLock { runs }, 0)
    }

    func testAClosedQueueRefusesNewJobs() {
        let queue = RequestQueue(workers: 1, capacity: 1)
        defer { queue.stopWorkers() }
        queue.close()
        XCTAssertEqual(
            queue.submit(Job(timeoutSeconds: 1, work: { _ in .success(.null) }, completion: { _ in })), .closed)
    }
}

final class DaemonConfigurationTests: XCTestCase {
    func testEnvironmentOverridesDefaultsAndBadValuesNameTheKey() throws {
        let configuration = try DaemonConfiguration.fromEnvironment([
            "OFAD_SOCKET": "/tmp/x.sock", "OFAD_QUEUE_LENGTH": "9", "OFAD_IMAGE_ROOTS": "/a:/b", "OFAD_DEVICE": "cpu",
        ])
        XCTAssertEqual(configuration.socketPath, "/tmp/x.sock")
        XCTAssertEqual(configuration.queueCapacity, 9)
        XCTAssertEqual(configuration.imageRoots, ["/a", "/b"])
        XCTAssertEqual(configuration.device, .cpu)
        XCTAssertThrowsError(try DaemonConfiguration.fromEnvironment(["OFAD_QUEUE_LENGTH": "lots"])) {
            XCTAssertEqual(
                $0 as? ConfigurationError, .invalid(key: "queue-length", why: "\"lots\" is not an integer ≥ 1"))
        }
    }

    func testTheImageCacheBoundIsBytesWithZeroTurningItOff() throws {
        XCTAssertEqual(DaemonConfiguration().imageCacheBytes, 256 << 20)
        XCTAssertEqual(try DaemonConfiguration.fromEnvironment(["OFAD_IMAGE_CACHE_BYTES": "0"]).imageCacheBytes, 0)
        var configuration = DaemonConfiguration()
        try configuration.set("image-cache-bytes", "1048576")
        XCTAssertEqual(configuration.imageCacheBytes, 1 << 20)
        XCTAssertThrowsError(try configuration.set("image-cache-bytes", "-1")) {
            XCTAssertEqual(
                $0 as? ConfigurationError, .invalid(key: "image-cache-bytes", why: "\"-1\" is not an integer ≥ 0"))
        }
    }

    func testCudaIsRefusedClearlyAndAutoMeansTheCPU() {
        XCTAssertEqual(try Device.auto.resolved(), .cpu)
        XCTAssertThrowsError(try Device.cuda.resolved()) { XCTAssertTrue("\($0)".contains("no GPU backend")) }
    }
}
