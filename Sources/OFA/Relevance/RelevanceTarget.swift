// What a relevance map explains: one answer's logit at the answer-predicting row, or the difference of two.

public struct RelevanceTarget: Sendable, Hashable, CustomStringConvertible {
    /// Index in the task's answer order.
    public let answer: Int
    /// When set, the target is logit(answer) − logit(contrast).
    public let contrast: Int?

    public init(answer: Int, contrast: Int? = nil) {
        self.answer = answer
        self.contrast = contrast
    }

    /// "yes", "yes-no" … from answer names (case-insensitive); nil when a name is not an answer or both are one.
    public init?(_ text: String, answers: [String]) {
        let names = answers.map { $0.lowercased() }
        let parts = text.lowercased().split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), let answer = names.firstIndex(of: parts[0]) else { return nil }
        if parts.count == 2 {
            guard let contrast = names.firstIndex(of: parts[1]), contrast != answer else { return nil }
            self.init(answer: answer, contrast: contrast)
        } else {
            self.init(answer: answer)
        }
    }

    /// The target's name with the task's answers, e.g. "yes-no".
    public func name(answers: [String]) -> String {
        guard answer < answers.count else { return description }
        guard let contrast else { return answers[answer] }
        return contrast < answers.count ? answers[answer] + "-" + answers[contrast] : description
    }

    public var description: String { contrast.map { "answer \(answer) − answer \($0)" } ?? "answer \(answer)" }

    /// The target as a weighted sum of vocabulary logits.
    func logitWeights(answerTokens: [Int]) -> [(token: Int, weight: Float)] {
        var weights = [(token: answerTokens[answer], weight: Float(1))]
        if let contrast { weights.append((token: answerTokens[contrast], weight: -1)) }
        return weights
    }
}
