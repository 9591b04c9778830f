// Numerical kernels and position buckets behave as the reference defines them.
import Foundation
import XCTest

@testable import OFA

final class KernelTests: XCTestCase {
    func testFastExpIsWithinTwoUlpsAndZeroFarBelow() {
        var x: Float = -80
        while x < 80 {
            let expected = Float(Foundation.exp(Double(x)))
            XCTAssertLessThanOrEqual(abs(FastMath.exp(x) - expected), 2.5 * expected.ulp, "exp(\(x))")
            x += 0.0137
        }
        XCTAssertEqual(FastMath.exp(-.infinity), 0)
        XCTAssertEqual(FastMath.exp(-1000), 0)
        XCTAssertEqual(FastMath.exp(0), 1)
    }

    func testSoftmaxRowsSumToOneAndKeepMaskedEntriesAtZero() {
        for width in [1, 7, 8, 37, 914] {
            var row = (0..<width).map { Float(sin(Double($0) * 1.7)) * 9 }
            if width > 2 { row[1] = -.infinity }
            row.withUnsafeMutableBufferPointer { FastMath.softmax($0.baseAddress!, count: width) }
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5, "width \(width)")
            if width > 2 { XCTAssertEqual(row[1], 0) }
            XCTAssertTrue(row.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
    }

    func testGeluMatchesTheExactErfFormula() {
        var x: Float = -8
        while x < 8 {
            let expected = Float(0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot())))
            XCTAssertLessThanOrEqual(abs(FastMath.gelu(x) - expected), 2e-6 * max(1, abs(x)), "gelu(\(x))")
            x += 0.00731
        }
    }

    func testTokenBucketsMatchTheSpecExamples() {
        let length = 1024
        let buckets = PositionBuckets.token(length: length, bucketSize: 256, maximumPosition: 1024)
        func bucket(_ relative: Int) -> Int { Int(buckets[relative * length]) - 255 }  // query `relative`, key 0
        XCTAssertEqual(bucket(0), 0)
        XCTAssertEqual(bucket(128), 128)
        XCTAssertEqual(bucket(129), 129)
        XCTAssertEqual(bucket(130), 129)
        XCTAssertEqual(bucket(131), 130)
        XCTAssertEqual(bucket(139), 134)
        XCTAssertEqual(bucket(141), 134)
        XCTAssertEqual(bucket(1007), 255)
        XCTAssertEqual(Int(buckets[130]) - 255, -129)  // query 0, key 130
    }

    func testImageBucketsMatchTheSpecExamples() {
        // Ids r·42 + c + 1 on a 30×30 grid; spec §3.4 values are for ids (1,1), (1,2), (2,1), (43,1), (134,423).
        let columns = 30
        let buckets = PositionBuckets.image(rows: 30, columns: columns, bucketSize: 42)
        func index(_ p: Int, _ q: Int) -> Int {
            func patch(_ id: Int) -> Int {
                let (r, c) = (id - 1).quotientAndRemainder(dividingBy: 42)
                return r * columns + c
            }
            return Int(buckets[patch(p) * 900 + patch(q)])
        }
        XCTAssertEqual(index(1, 1), 3444)
        XCTAssertEqual(index(1, 2), 3443)
        XCTAssertEqual(index(2, 1), 3445)
        XCTAssertEqual(index(43, 1), 3527)
        XCTAssertEqual(index(134, 423), 2868)
    }

    func testResNetGridSizeFollowsTheStrides() {
        XCTAssertEqual(ResNet.gridSize(imageSize: 480), 30)
        XCTAssertEqual(ResNet.gridSize(imageSize: 64), 4)
        XCTAssertEqual(ResNet.gridSize(imageSize: 96), 6)
    }
}
