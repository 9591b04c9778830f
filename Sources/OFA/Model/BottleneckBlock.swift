// ResNet bottleneck ("v1.5": stride on the 3×3), as modelscope OFA resnet.py Bottleneck at inference.

struct BottleneckBlock {
    let reduce: ConvolutionBatchNorm
    let spatial: ConvolutionBatchNorm
    let expand: ConvolutionBatchNorm
    let downsample: ConvolutionBatchNorm?

    init(_ scope: WeightScope, backend: Backend, inputs: Int, planes: Int, stride: Int, inputSide: Int) throws {
        let outputSide = ConvolutionGeometry(kernel: 3, stride: stride, padding: 1).outputSize(inputSide)
        let outputs = planes * 4
        reduce = try ConvolutionBatchNorm(
            convolution: scope.scope("conv1"), normalization: scope.scope("bn1"), backend: backend, inputs: inputs,
            outputs: planes, geometry: ConvolutionGeometry(kernel: 1, stride: 1, padding: 0), inputSide: inputSide)
        spatial = try ConvolutionBatchNorm(
            convolution: scope.scope("conv2"), normalization: scope.scope("bn2"), backend: backend, inputs: planes,
            outputs: planes, geometry: ConvolutionGeometry(kernel: 3, stride: stride, padding: 1),
            inputSide: inputSide)
        expand = try ConvolutionBatchNorm(
            convolution: scope.scope("conv3"), normalization: scope.scope("bn3"), backend: backend, inputs: planes,
            outputs: outputs, geometry: ConvolutionGeometry(kernel: 1, stride: 1, padding: 0),
            inputSide: outputSide)
        if stride != 1 || inputs != outputs {
            downsample = try ConvolutionBatchNorm(
                convolution: scope.scope("downsample.0"), normalization: scope.scope("downsample.1"),
                backend: backend, inputs: inputs, outputs: outputs,
                geometry: ConvolutionGeometry(kernel: 1, stride: stride, padding: 0), inputSide: inputSide)
        } else {
            downsample = nil
        }
    }

    func callAsFunction(_ input: Tensor) -> Tensor {
        let identity = downsample.map { $0(input, activation: .none) } ?? input
        let reduced = reduce(input, activation: .relu)
        let mixed = spatial(reduced, activation: .relu)
        return expand(mixed, residual: identity, activation: .relu)
    }
}
