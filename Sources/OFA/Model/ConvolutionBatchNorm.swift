// A bias-free convolution followed by eval-mode BatchNorm, folded at load into one convolution with bias.
// Matches torch Conv2d(bias=False) + BatchNorm2d(eps=1e-5) with running statistics.

struct ConvolutionBatchNorm {
    static let epsilon: Float = 1e-5
    let weight: Tensor
    let bias: Tensor
    let geometry: ConvolutionGeometry
    let backend: Backend

    /// `convolution` and `normalization` are the scopes of the Conv2d and its BatchNorm2d; `inputSide` the input
    /// size the weight is laid out for.
    init(
        convolution: WeightScope, normalization: WeightScope, backend: Backend, inputs: Int, outputs: Int,
        geometry: ConvolutionGeometry, inputSide: Int
    ) throws {
        let area = inputs * geometry.kernel * geometry.kernel
        var kernel = try convolution.values("weight", shape: [outputs, inputs, geometry.kernel, geometry.kernel])
        let gain = try normalization.values("weight", shape: [outputs])
        let shift = try normalization.values("bias", shape: [outputs])
        let mean = try normalization.values("running_mean", shape: [outputs])
        let variance = try normalization.values("running_var", shape: [outputs])
        var folded = [Float](repeating: 0, count: outputs)
        // Hot at load (every ResNet weight): the sizes were checked against the shapes above, so the loop indexes
        // through an unchecked buffer.
        kernel.withUnsafeMutableBufferPointer { weights in
            for channel in 0..<outputs {
                let scale = gain[channel] / (variance[channel] + ConvolutionBatchNorm.epsilon).squareRoot()
                let row = weights.baseAddress! + channel * area
                for i in 0..<area { row[i] *= scale }
                folded[channel] = shift[channel] - mean[channel] * scale
            }
        }
        weight = backend.prepareConvolutionWeight(
            backend.makeTensor(shape: [outputs, area], values: kernel), inputs: inputs, geometry: geometry,
            inputSide: inputSide)
        bias = backend.makeTensor(shape: [outputs], values: folded)
        self.geometry = geometry
        self.backend = backend
    }

    func callAsFunction(_ input: Tensor, residual: Tensor? = nil, activation: Activation) -> Tensor {
        backend.convolution(
            input, weight: weight, bias: bias, geometry: geometry, residual: residual,
            activation: activation)
    }
}
