// The SNLI-VE meaning of each answer word (spec §7.3; FS data/mm_data/snli_ve_dataset.py): the model answers
// yes / no / maybe, which stand for entailment / contradiction / neutral.

public enum AnswerLabel {
    public static let labels = ["yes": "entailment", "no": "contradiction", "maybe": "neutral"]

    /// The label of an answer; an answer the table does not know is its own label.
    public static func label(for answer: String) -> String { labels[answer] ?? answer }
}
