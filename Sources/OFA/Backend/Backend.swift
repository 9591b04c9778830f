// The compute interface every layer uses: memory, GEMM, convolution and elementwise kernels.
// The CPU backend (oneDNN) implements it today; a CUDA backend slots in beside it without touching the layers.

/// Convolution shape parameters (square kernels, as in the ResNet).
public struct ConvolutionGeometry: Equatable, Sendable {
    public var kernel: Int
    public var stride: Int
    public var padding: Int

    public init(kernel: Int, stride: Int, padding: Int) {
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    public func outputSize(_ input: Int) -> Int { (input + 2 * padding - kernel) / stride + 1 }
}

public enum Activation: Sendable {
    case none, relu, gelu
}

/// Kernels over `Tensor`s. Methods return new tensors unless named `…InPlace`; in-place methods are only
/// called on activations a request owns.
public protocol Backend: AnyObject, Sendable {
    var name: String { get }
    /// The arithmetic the backend runs in (chosen when it is made).
    var precision: Precision { get }
    /// Host threads its work runs on.
    var threads: Int { get }

    // Memory
    /// A new float tensor whose contents `fill` writes in host order (a device backend stages and uploads).
    func makeTensor(shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows -> Tensor
    func makeIndices(shape: [Int], values: [Int32]) -> Tensor
    func zeros(shape: [Int]) -> Tensor
    /// Host copy of a float tensor.
    func read(_ tensor: Tensor) -> [Float]
    /// Host copy of selected float elements: `count` elements from `offset`, for recording attention.
    func read(_ tensor: Tensor, offset: Int, count: Int) -> [Float]
    /// Host copies of several float tensors, in order: a device backend packs them on the device and copies once
    /// (a request's recorded attention).
    func read(_ tensors: [Tensor]) -> [[Float]]

    /// Runs `body` with room for about `bytes` more transient memory kept for reuse between its steps (a backward
    /// pass's many large gradients) and by the next such work for `seconds` after (then released).
    func withWorkspace<T>(bytes: Int, keepingFor seconds: Double, _ body: () throws -> T) rethrows -> T

    // Weights
    /// A float32 linear weight `[out, in]` as the backend's products read it, in the precision's storage type and
    /// the backend's own layout; only `linear` and `linearInputGradient` read it.
    func prepareProductWeight(_ weight: Tensor) -> Tensor
    /// A float32 table `[n, d]` (the embedding) in the precision's storage type, rows kept in order: `gatherRows`
    /// reads it and `linear` takes it as a weight (the tied output projection).
    func prepareTable(_ table: Tensor) -> Tensor
    /// A float32 convolution weight `[O, C·k·k]` (PyTorch's OIHW order) for `convolution` with this geometry, in the
    /// backend's own layout for square inputs of `inputSide` (other sizes still work); only `convolution` reads it.
    /// The weight given is the backend's from then on (a device backend reorders it in place).
    func prepareConvolutionWeight(_ weight: Tensor, inputs: Int, geometry: ConvolutionGeometry, inputSide: Int)
        -> Tensor

    // GEMM
    /// `input [n, in] · weightᵀ [out, in] + bias`, then the activation.
    func linear(_ input: Tensor, weight: Tensor, bias: Tensor?, activation: Activation) -> Tensor
    /// Per head h: `scores[h] = query[:, h] · key[:, h]ᵀ` → [heads, queries, keys].
    func attentionScores(query: Tensor, key: Tensor, heads: Int) -> Tensor
    /// Per head h: `output[:, h] = headScale[h] · probabilities[h] · value[:, h]` → [queries, d].
    func attentionContext(probabilities: Tensor, value: Tensor, heads: Int, headScale: Tensor) -> Tensor
    /// `attentionScores(query:key:heads:)` with `key = linear(memory, keyWeight, keyBias)`, free to never make the
    /// keys: per head, the query through the weight's rows first and then against `memory [S, in]` (cross
    /// attention's few decoder rows against the encoder's many: heads · queries inner instead of S · d).
    func attentionScores(query: Tensor, memory: Tensor, keyWeight: Tensor, keyBias: Tensor?, heads: Int) -> Tensor
    /// `attentionContext(probabilities:value:heads:headScale:)` with `value = linear(memory, valueWeight,
    /// valueBias)`, free to never make the values: per head, the probabilities through `memory [S, in]` first.
    func attentionContext(
        probabilities: Tensor, memory: Tensor, valueWeight: Tensor, valueBias: Tensor?, heads: Int, headScale: Tensor
    ) -> Tensor

    // Convolution
    /// Channels last: `input [H, W, C]`, a prepared weight, bias [O] → [H', W', O], plus `residual`, then the
    /// activation (none or ReLU).
    func convolution(
        _ input: Tensor, weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry,
        residual: Tensor?, activation: Activation
    ) -> Tensor
    /// Max pooling with −∞ padding over channels-last [H, W, C].
    func maxPool(_ input: Tensor, geometry: ConvolutionGeometry) -> Tensor
    /// Runs `body` with every `convolution` reading its input and weights in float32 whatever the precision stores
    /// the weights in (bfloat16 weights widened per call, with the rounding residual the backend kept): image
    /// features recomputed for a bfloat16 close call, since rounding in the backbone is most of bfloat16's error.
    /// Where convolutions read float32 anyway (the default), it just runs `body`.
    func withFloat32ConvolutionInputs<T>(_ body: () throws -> T) rethrows -> T

    // Elementwise and data movement
    func layerNorm(_ input: Tensor, weight: Tensor, bias: Tensor, epsilon: Float) -> Tensor
    /// `layerNorm` written over its input, which nothing reads after (one buffer fewer per use).
    func layerNormInPlace(_ tensor: Tensor, weight: Tensor, bias: Tensor, epsilon: Float)
    /// `a + b` for equal shapes.
    func add(_ a: Tensor, _ b: Tensor) -> Tensor
    /// `a += b` for equal shapes (the same sums as `add`).
    func addInPlace(_ a: Tensor, _ b: Tensor)
    /// Adds `row [d]` to every row of `input [n, d]`, times `scale` first for the input.
    func addRow(_ input: Tensor, row: Tensor, scale: Float) -> Tensor
    func scaleInPlace(_ tensor: Tensor, by factor: Float)
    /// The probabilities of `scores [heads, T, S]` in place: the position bias added, keys after each query set
    /// to −∞ when `causal`, then the softmax over the last dimension.
    func attentionSoftmaxInPlace(_ scores: Tensor, bias: AttentionBias, causal: Bool)
    /// Attention whose probabilities nobody keeps: per head h, `headScale[h] · softmax(query[:, h] · key[:, h]ᵀ +
    /// bias[h]) · value[:, h]` → [queries, d], as `attentionScores`, `attentionSoftmaxInPlace` and
    /// `attentionContext` compute it, but free to never hold all the scores at once. It owns the query, keys and
    /// values, and may let each go once it has what it needs of them (a copy in its own layout).
    func attention(
        query: consuming Tensor, key: consuming Tensor, value: consuming Tensor, heads: Int, headScale: Tensor,
        bias: AttentionBias, causal: Bool
    ) -> Tensor
    /// Rows of `table [n, d]` at `indices` → [count, d].
    func gatherRows(_ table: Tensor, indices: Tensor) -> Tensor
    /// Rows of `a` followed by rows of `b`.
    func concatenateRows(_ a: Tensor, _ b: Tensor) -> Tensor
    /// Rows `range` of a matrix.
    func rows(_ input: Tensor, _ range: Range<Int>) -> Tensor
    /// 2-D transpose.
    func transpose(_ input: Tensor) -> Tensor
    func copy(_ input: Tensor) -> Tensor

    // Gradients: input (activation) gradients only, never weight gradients; for answer relevance.
    /// The activation alone, elementwise (the feed-forward's, when its input is kept for the backward pass).
    func activate(_ input: Tensor, _ activation: Activation) -> Tensor
    /// `gradient [n, out] · weight [out, in]` → [n, in]: the input gradient of `linear`.
    func linearInputGradient(_ gradient: Tensor, weight: Tensor) -> Tensor
    /// `gradient ⊙ activation′(preActivation)`.
    func activationGradient(_ gradient: Tensor, preActivation: Tensor, activation: Activation) -> Tensor
    /// The input gradient of `layerNorm` over the last dimension.
    func layerNormGradient(_ gradient: Tensor, input: Tensor, weight: Tensor, epsilon: Float) -> Tensor
    /// Per head h: `headScale[h] · contextGradient[:, h] · value[:, h]ᵀ` → [heads, queries, keys], the gradient
    /// of `attentionContext` with respect to its probabilities.
    func attentionProbabilityGradient(contextGradient: Tensor, value: Tensor, heads: Int, headScale: Tensor) -> Tensor
    /// `linearInputGradient(V, weight)` for V `[keys, d]` with, per head h, `V[:, h] = headScale[h] · matrix[h]ᵀ ·
    /// rows[:, h]` (headScale nil: 1) → [keys, in]. With the probabilities and the context gradient, the input
    /// gradient through the values; with the score gradient and the query, through the keys. Equal to
    /// Σ_h matrix[h]ᵀ · (headScale[h] · rows[:, h] · weight[h's rows]): the cheaper order when heads · queries < d,
    /// as in cross attention's few decoder rows.
    func attentionTransposedInputGradient(
        _ matrix: Tensor, rows: Tensor, heads: Int, headScale: Tensor?, weight: Tensor
    ) -> Tensor
    /// The input gradient of a softmax over the last dimension, over `gradient` in place: `p ⊙ (g − Σ g·p)` per row.
    func softmaxGradientInPlace(_ gradient: Tensor, probabilities: Tensor)
    /// `[heads, T, S]` → `[T, S]`: the mean over heads of max(gradient ⊙ probabilities, 0).
    func gradientWeightedMean(_ gradient: Tensor, probabilities: Tensor) -> Tensor
    /// `a · b`, or `aᵀ · b` when `transposingA`, for 2-D tensors.
    func matrixProduct(_ a: Tensor, _ b: Tensor, transposingA: Bool) -> Tensor
    /// For square `[n, n]` relevance R: each row of R − I divided by its sum, plus I. A row summing to 0 becomes
    /// NaN, as the reference's division makes it.
    func residualNormalized(_ relevance: Tensor) -> Tensor
    /// Sets NaN entries to 0.
    func zeroNaNInPlace(_ tensor: Tensor)
}

extension Backend {
    public func withFloat32ConvolutionInputs<T>(_ body: () throws -> T) rethrows -> T { try body() }

    /// The keys made, then the scores: a backend without the projected order.
    public func attentionScores(query: Tensor, memory: Tensor, keyWeight: Tensor, keyBias: Tensor?, heads: Int)
        -> Tensor
    {
        attentionScores(
            query: query, key: linear(memory, weight: keyWeight, bias: keyBias, activation: .none), heads: heads)
    }

    /// The values made, then the context: a backend without the projected order.
    public func attentionContext(
        probabilities: Tensor, memory: Tensor, valueWeight: Tensor, valueBias: Tensor?, heads: Int, headScale: Tensor
    ) -> Tensor {
        attentionContext(
            probabilities: probabilities,
            value: linear(memory, weight: valueWeight, bias: valueBias, activation: .none),
            heads: heads, headScale: headScale)
    }

    public func makeTensor(shape: [Int], values: [Float]) -> Tensor {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        return makeTensor(shape: shape) { destination in
            _ = destination.initialize(from: values)
        }
    }

    /// `matrixProduct`'s sizes: `a` [m, k] (or [k, m] transposed) times `b` [k, n].
    func productSizes(_ a: Tensor, _ b: Tensor, transposingA: Bool) -> (m: Int, n: Int, k: Int) {
        let m = transposingA ? a.shape[1] : a.shape[0]
        let k = transposingA ? a.shape[0] : a.shape[1]
        precondition(b.shape[0] == k, "matrix product \(a.shape)\(transposingA ? "ᵀ" : "") · \(b.shape)")
        return (m, b.shape[1], k)
    }

    /// The `[n, n]` identity.
    public func identity(_ n: Int) -> Tensor {
        makeTensor(shape: [n, n]) { destination in
            destination.initialize(repeating: 0)
            for i in 0..<n { destination[i * n + i] = 1 }
        }
    }
}
