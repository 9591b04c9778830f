// Visual-entailment answer scoring, as modelscope's traverse path: restrict the answer-position logits to the
// answer tokens, log-softmax over them (the eos step adds exactly 0), softmax of those scores.
import Foundation

public enum AnswerScoring {
    public static func probabilities(logits: [Float]) -> [Float] {
        guard let peak = logits.max() else { return [] }
        let exponentials = logits.map { Foundation.exp(Double($0 - peak)) }
        let total = exponentials.reduce(0, +)
        return exponentials.map { Float($0 / total) }
    }

    public static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for (index, value) in values.enumerated() where value > values[best] { best = index }
        return best
    }
}
