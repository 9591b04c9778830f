// OFA's image backbone: ResNet stem + stages 1-3 of Bottleneck blocks (no layer4, pool or fc) → [1024, h, w].
// Matches modelscope OFA resnet.py ResNet.forward_impl in eval mode.

struct ResNet {
    static let outputChannels = 1024
    let stem: ConvolutionBatchNorm
    let stages: [[BottleneckBlock]]
    let backend: Backend

    init(_ scope: WeightScope, backend: Backend, blocks: [Int]) throws {
        stem = try ConvolutionBatchNorm(
            convolution: scope.scope("conv1"), normalization: scope.scope("bn1"), backend: backend, inputs: 3,
            outputs: 64, geometry: ConvolutionGeometry(kernel: 7, stride: 2, padding: 3))
        var inputs = 64
        var stages: [[BottleneckBlock]] = []
        for (index, count) in blocks.enumerated() {
            let planes = 64 << index
            var stage: [BottleneckBlock] = []
            for block in 0..<count {
                stage.append(
                    try BottleneckBlock(
                        scope.scope("layer\(index + 1).\(block)"), backend: backend, inputs: inputs, planes: planes,
                        stride: block == 0 && index > 0 ? 2 : 1))
                inputs = planes * 4
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

    /// `image [3, H, W]` → features [1024, h, w].
    func callAsFunction(_ image: Tensor) -> Tensor {
        var x = stem(image, activation: .relu)
        x = backend.maxPool(x, geometry: ConvolutionGeometry(kernel: 3, stride: 2, padding: 1))
        for stage in stages {
            for block in stage { x = block(x) }
        }
        return x
    }
}
