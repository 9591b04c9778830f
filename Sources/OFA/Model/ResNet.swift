// OFA's image backbone: ResNet stem + stages 1-3 of Bottleneck blocks (no layer4, pool or fc) → [h, w, 1024]
// (channels last, as the backend's convolutions run).
// Matches modelscope OFA resnet.py ResNet.forward_impl in eval mode.

struct ResNet {
    static let outputChannels = 1024
    let stem: ConvolutionBatchNorm
    let stages: [[BottleneckBlock]]
    let backend: Backend

    /// `imageSize`: the input side the convolutions' weights are laid out for.
    init(_ scope: WeightScope, backend: Backend, blocks: [Int], imageSize: Int) throws {
        let stemGeometry = ConvolutionGeometry(kernel: 7, stride: 2, padding: 3)
        stem = try ConvolutionBatchNorm(
            convolution: scope.scope("conv1"), normalization: scope.scope("bn1"), backend: backend, inputs: 3,
            outputs: 64, geometry: stemGeometry, inputSide: imageSize)
        var side = ConvolutionGeometry(kernel: 3, stride: 2, padding: 1).outputSize(stemGeometry.outputSize(imageSize))
        var inputs = 64
        var stages: [[BottleneckBlock]] = []
        for (index, count) in blocks.enumerated() {
            let planes = 64 << index
            var stage: [BottleneckBlock] = []
            for block in 0..<count {
                let stride = block == 0 && index > 0 ? 2 : 1
                stage.append(
                    try BottleneckBlock(
                        scope.scope("layer\(index + 1).\(block)"), backend: backend, inputs: inputs, planes: planes,
                        stride: stride, inputSide: side))
                inputs = planes * 4
                side = ConvolutionGeometry(kernel: 3, stride: stride, padding: 1).outputSize(side)
            }
            stages.append(stage)
        }
        self.stages = stages
        self.backend = backend
    }

    /// Side of the feature grid for a square input of `size` pixels.
    static func gridSize(imageSize size: Int) -> Int {
        var side = (size + 6 - 7) / 2 + 1  // conv1
        side = (side + 2 - 3) / 2 + 1  // maxpool
        side = (side + 2 - 3) / 2 + 1  // layer2
        return (side + 2 - 3) / 2 + 1  // layer3
    }

    /// `image [3, H, W]` → features [h, w, 1024].
    func callAsFunction(_ image: Tensor) -> Tensor {
        let height = image.shape[1]
        let width = image.shape[2]
        let pixels = backend.transpose(image.reshaped([3, height * width])).reshaped([height, width, 3])
        var x = stem(pixels, activation: .relu)
        x = backend.maxPool(x, geometry: ConvolutionGeometry(kernel: 3, stride: 2, padding: 1))
        for stage in stages {
            for block in stage { x = block(x) }
        }
        return x
    }
}
