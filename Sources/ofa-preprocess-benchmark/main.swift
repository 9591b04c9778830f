// Times ofad's preprocessing: image bytes -> patch tensor (decode, orient, resize, normalise) and text -> ids.
// usage: ofa-preprocess-benchmark [--size N] [--iterations K] [--vocab DIR] IMAGE...
import Foundation
import ImageIO
import OFAPreprocessing

var size = 480
var iterations = 20
var vocabulary: String?
var paths: [String] = []
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--size": size = Int(arguments.next() ?? "") ?? size
    case "--iterations": iterations = Int(arguments.next() ?? "") ?? iterations
    case "--vocab": vocabulary = arguments.next()
    default: paths.append(argument)
    }
}
guard !paths.isEmpty else {
    FileHandle.standardError.write(
        "usage: ofa-preprocess-benchmark [--size N] [--iterations K] [--vocab DIR] IMAGE...\n".data(using: .utf8)!)
    exit(2)
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Median of `iterations` runs, in milliseconds.
func median(_ body: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<iterations { times.append(try seconds(body)) }
    return times.sorted()[times.count / 2] * 1000
}

let preprocessor = ImagePreprocessor(size: size)
for path in paths {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    var decoded: DecodedImage?
    let decode = try median { decoded = try preprocessor.decoder.decode(bytes) }
    let image = decoded!.image
    let resize = median { _ = preprocessor.resampler.resize(image, width: size, height: size) }
    let total = try median { _ = try preprocessor(imageBytes: bytes) }
    print(
        String(
            format:
                "swift  %@ %dx%d -> %d: decode %.2f ms, resize %.2f ms, total (decode+orient+resize+normalise) %.2f ms",
            (path as NSString).lastPathComponent, image.width, image.height, size, decode, resize, total))
}

if let vocabulary {
    let tokenizer = try BPETokenizer(directory: URL(fileURLWithPath: vocabulary))
    let text = TextPreprocessor(tokenizer: tokenizer)
    let sentences = [
        "A man, in a red-shirt, is riding a bike!!", "there are two birds.",
        "It's 3:30 p.m. and they're   at the café",
    ]
    let warm = median { for s in sentences { _ = try? text(hypothesis: s, premise: "there are two dogs.") } }
    print(
        String(
            format: "swift  text: %d prompts (premise + hypothesis) %.3f ms per prompt (warm cache)",
            sentences.count, warm / Double(sentences.count)))
}
