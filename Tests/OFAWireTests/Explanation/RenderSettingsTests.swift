// The explanation contract's options: one table of keys, ranges and defaults, and RenderSettings checking every
// option against it, naming the key it refuses.
import Foundation
import OFAWire
import XCTest

final class RenderSettingsTests: XCTestCase {
    private func params(_ edit: (inout RenderParams) -> Void = { _ in }) -> RenderParams {
        var params = RenderParams(image: ImageInput(bytes: [1]), hypothesis: "a dog")
        edit(&params)
        return params
    }

    private func refusal(_ edit: (inout RenderParams) -> Void) -> ParameterError? {
        do {
            _ = try RenderSettings(params(edit))
            return nil
        } catch {
            return error as? ParameterError
        }
    }

    func testNothingGivenMeansEveryDocumentedDefault() throws {
        let settings = try RenderSettings(params())
        XCTAssertEqual(settings.output, .overlay)
        XCTAssertEqual(settings.source, .cross)
        XCTAssertEqual(settings.heads, .fusion(.mean))
        XCTAssertEqual(settings.colormap, .jet)
        XCTAssertEqual(settings.alpha, 0.5)
        XCTAssertEqual(settings.temperature, 1)
        XCTAssertEqual(settings.maxSide, 2048)
        XCTAssertEqual(settings.frameDelayMilliseconds, 500)
        XCTAssertEqual(settings.focusThreshold, 0.5)
        XCTAssertEqual(settings.topK, 5)
        XCTAssertEqual(try settings.resolvedLayers(count: 12, forStats: false), [11], "an overlay draws the last layer")
        XCTAssertEqual(try settings.resolvedLayers(count: 12, forStats: true), Array(0..<12), "stats: every layer")
        XCTAssertEqual(try RenderSettings(params { $0.output = "grid" }).maxSide, 320)
        XCTAssertEqual(try RenderSettings(params { $0.output = "animation" }).maxSide, 1024)
    }

    func testEachNumberIsCheckedAgainstItsOneRangeAtBothEnds() {
        typealias P = ExplanationParameter
        let numbers: [(ExplanationParameter, WritableKeyPath<RenderParams, Double?>, Double, Double)] = [
            (P.alpha, \.alpha, 0, 1), (P.smoothing, \.smoothing, 0, 64), (P.temperature, \.temperature, 0.001, 1000),
            (P.focusThreshold, \.focusThreshold, 0, 1),
        ]
        for (parameter, path, low, high) in numbers {
            XCTAssertNil(refusal { $0[keyPath: path] = low }, parameter.key)
            XCTAssertNil(refusal { $0[keyPath: path] = high }, parameter.key)
            XCTAssertEqual(refusal { $0[keyPath: path] = high * 1.01 + 0.01 }?.key, parameter.key)
            XCTAssertEqual(refusal { $0[keyPath: path] = low - 0.001 }?.key, parameter.key)
            XCTAssertEqual(refusal { $0[keyPath: path] = .nan }?.key, parameter.key)
        }
        XCTAssertNil(
            refusal {
                $0.source = "rollout"
                $0.discardRatio = 0.9999
            })
        XCTAssertEqual(
            refusal {
                $0.source = "rollout"
                $0.discardRatio = 1
            }?.description, "\"discard_ratio\" 1 is not in [0, 1)")
    }

    func testEachWholeNumberAndChoiceIsCheckedAndNamed() {
        XCTAssertEqual(refusal { $0.maxSide = 15 }?.description, "\"max_side\" 15 is not in [16, 4096]")
        XCTAssertEqual(refusal { $0.columns = 65 }?.key, "columns")
        XCTAssertEqual(refusal { $0.frameDelayMs = 9 }?.key, "frame_delay_ms")
        XCTAssertEqual(refusal { $0.loop = 65_536 }?.key, "loop")
        XCTAssertEqual(refusal { $0.topK = 1001 }?.key, "top_k")
        XCTAssertEqual(
            refusal { $0.colormap = "plasma" }?.description,
            "\"colormap\" \"plasma\" is not one of jet, viridis, inferno, gray")
        XCTAssertEqual(refusal { $0.output = "video" }?.key, "output")
        XCTAssertEqual(refusal { $0.source = "saliency" }?.key, "source")
        XCTAssertEqual(refusal { $0.heads = .index(-1) }?.key, "heads")
        XCTAssertEqual(refusal { $0.layers = .list([]) }?.key, "layers")
    }

    func testOptionsOfOneSourceAreRefusedForAnother() {
        XCTAssertEqual(refusal { $0.token = 3 }?.description, "\"token\" applies to source \"encoder\" only")
        XCTAssertEqual(refusal { $0.fusion = "max" }?.key, "fusion")
        XCTAssertEqual(refusal { $0.discardRatio = 0.5 }?.key, "discard_ratio")
        XCTAssertNil(
            refusal {
                $0.source = "encoder"
                $0.token = 3
            })
    }

    func testLayersAndHeadsAreResolvedAgainstTheModelNamingThePart() throws {
        XCTAssertEqual(try LayerChoice.list([-1, 0, -1]).resolved(count: 4, part: .decoder), [3, 0])
        XCTAssertThrowsError(try LayerChoice.list([4]).resolved(count: 4, part: .encoder)) {
            XCTAssertEqual(
                ($0 as? ParameterError)?.description,
                "\"layers\" 4 is out of range: the encoder has 4 layers (-4…3)")
        }
        XCTAssertThrowsError(try HeadChoice.index(16).checked(count: 16, part: .decoder)) {
            XCTAssertEqual(($0 as? ParameterError)?.key, "heads")
        }
        XCTAssertEqual(LayerChoice(text: "all"), .all)
        XCTAssertEqual(LayerChoice(text: "3, -1"), .list([3, -1]))
        XCTAssertNil(LayerChoice(text: "3,x"))
        XCTAssertEqual(HeadChoice(text: "max"), .fusion(.max))
        XCTAssertEqual(HeadChoice(text: "2"), .index(2))
        XCTAssertNil(HeadChoice(text: "avg"))
    }

    func testEveryOptionHasOneTableEntryWhoseHelpGivesItsRangeAndDefault() throws {
        let keys = ExplanationParameter.all.map(\.key)
        XCTAssertEqual(Set(keys).count, keys.count)
        let encoded = try JSONValue(
            encoding: params {
                $0.output = "grid"
                $0.source = "rollout"
                $0.fusion = "max"
                $0.discardRatio = 0.5
                $0.layers = .all
                $0.heads = .index(1)
                $0.colormap = "gray"
                $0.alpha = 0.3
                $0.smoothing = 1
                $0.temperature = 2
                $0.colorbar = true
                $0.maxSide = 100
                $0.columns = 2
                $0.sharedScale = true
                $0.frameDelayMs = 100
                $0.loop = 1
                $0.focusThreshold = 0.2
                $0.topK = 3
            })
        guard case .object(let members) = encoded else { return XCTFail("not an object") }
        let optionKeys = Set(members.keys).subtracting(["image", "hypothesis"])
        XCTAssertEqual(
            optionKeys.union(["token", "target", "window", "stride", "measure", "faithfulness"]), Set(keys),
            "every RenderParams option is in the table")
        let occlusion = try JSONValue(
            encoding: params {
                $0.source = "occlusion"
                $0.target = "yes-no"
                $0.window = 2
                $0.stride = 1
                $0.measure = "logit"
                $0.faithfulness = "fast"
            })
        guard case .object(let more) = occlusion else { return XCTFail("not an object") }
        XCTAssertEqual(
            Set(more.keys).subtracting(["image", "hypothesis", "source"]),
            ["target", "window", "stride", "measure", "faithfulness"])
        XCTAssertEqual(ExplanationParameter.temperature.help, "Temperature; below 1 sharpens, in [0.001, 1000]. [1]")
        XCTAssertEqual(ExplanationParameter.discardRatio.optionName, "discard-ratio")
    }

    func testParametersThatDoNotDecodeAreNamed() {
        let bad: [(JSONValue, String)] = [
            (["image": ["data": "AA=="], "hypothesis": "x", "alpha": "high"], "alpha"),
            (["image": ["data": "AA=="], "hypothesis": "x", "heads": "avg"], "heads"),
            (["image": ["data": "AA=="]], "hypothesis"),
        ]
        for (value, key) in bad {
            XCTAssertThrowsError(try value.decodeParameters(RenderParams.self)) {
                XCTAssertEqual(($0 as? ParameterError)?.key, key, "\($0)")
            }
        }
    }

    func testTheProtocolDocumentListsEveryOptionOfTheTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/protocol.md"), encoding: .utf8)
        for parameter in ExplanationParameter.all {
            XCTAssertTrue(text.contains("`\(parameter.key)`"), "docs/protocol.md does not list \(parameter.key)")
            if let range = parameter.rangeText, case .number = parameter.domain {
                XCTAssertTrue(
                    text.contains(range.replacingOccurrences(of: "in ", with: "")),
                    "docs/protocol.md gives another range for \(parameter.key) than \(range)")
            }
        }
    }
}
