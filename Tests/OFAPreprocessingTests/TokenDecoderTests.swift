// TokenDecoder: ids back to the vocabulary's spelling, bytes and text (for labelling attention).
import FixtureSupport
import Foundation
import Testing

@testable import OFAPreprocessing

private let fullDecoder = try! TokenDecoder(directory: Fixtures.url("tokenizer/full-vocab"))
private let decodeCases = try! Fixtures.json("tokenizer/bpe-cases.json")["cases"] as! [[String: Any]]

@Suite("Token ids decode back to their text")
struct TokenDecoderTests {
    @Test("a vocabulary token decodes from its byte-level spelling, a space written as Ġ")
    func spellingAndText() {
        #expect(fullDecoder.spelling(of: 473) == "Ġdoes")
        #expect(fullDecoder.text(of: 473) == " does")
        #expect(fullDecoder.text(of: 4420) == " yes")
        #expect(fullDecoder.text(of: 116) == "?")
    }

    @Test("special and added tokens are written as they are, at the ids the tokenizer gives them")
    func addedTokens() {
        #expect(fullDecoder.text(of: 0) == "<s>")
        #expect(fullDecoder.text(of: 2) == "</s>")
        #expect(fullDecoder.count == fullTokenizer.count)
        #expect(fullDecoder.text(of: fullTokenizer.encode("<code_0>")[0]) == "<code_0>")
        #expect(fullDecoder.text(of: fullTokenizer.encode("<bin_999>")[0]) == "<bin_999>")
        #expect(fullDecoder.text(of: fullTokenizer.count - 1) == "<bin_999>")
    }

    @Test("an id outside the vocabulary has no text")
    func unknownIDs() {
        #expect(fullDecoder.text(of: -1) == nil)
        #expect(fullDecoder.text(of: fullDecoder.count) == nil)
    }

    @Test("the bytes of every golden string's tokens join back to the string")
    func roundTrip() {
        var checked = 0
        for c in decodeCases {
            let text = c["text"] as! String
            guard !text.contains("<") else { continue }  // added tokens may take the whitespace beside them
            let ids = fullTokenizer.encode(text)
            let bytes = ids.flatMap { fullDecoder.bytes(of: $0) ?? [] }
            #expect(bytes == Array(text.utf8), "\(text.debugDescription)")
            checked += 1
        }
        #expect(checked >= 100)
    }

    @Test("a token holding part of a character shows the replacement character alone")
    func partialCharacter() {
        let ids = fullTokenizer.encode("🐦")
        #expect(ids.count > 1)
        #expect(ids.compactMap { fullDecoder.text(of: $0) }.joined().contains("\u{FFFD}"))
    }
}
