// The ResNet's operations, channels last: the 7×7/2 stem with ReLU, a 3×3 with a residual and ReLU, a strided 1×1
// downsample, the 3×3 again with float32 inputs (to float32's tolerance in every precision that stores weights in
// float32 or keeps their rounding residual), and the 3×3/2 max-pool.
import OFA

extension BackendConformance {
    func convolutionChecks(_ context: inout ConformanceContext) {
        let backend = context.backend
        let shapes = context.shapes
        let stemOutputs = 64
        let cases: [(String, Int, Int, Int, ConvolutionGeometry, Bool, Activation)] = [
            (
                "convolution, 7×7/2 stem", shapes.imageSide, 3, stemOutputs, .init(kernel: 7, stride: 2, padding: 3),
                false, .relu
            ),
            (
                "convolution, 3×3 + residual", shapes.blockSide, shapes.blockChannels, shapes.blockChannels,
                .init(kernel: 3, stride: 1, padding: 1), true, .relu
            ),
            (
                "convolution, 1×1/2", shapes.blockSide, shapes.blockChannels, 2 * shapes.blockChannels,
                .init(kernel: 1, stride: 2, padding: 0), false, .none
            ),
        ]
        // The 3×3 + residual once more, inside withFloat32ConvolutionInputs.
        let widened = (
            "withFloat32ConvolutionInputs, convolution, 3×3 + residual", cases[1].1, cases[1].2, cases[1].3,
            cases[1].4, cases[1].5, cases[1].6
        )
        for (index, (name, side, channels, outputs, geometry, hasResidual, activation)) in (cases + [widened])
            .enumerated()
        {
            let float32Inputs = index == cases.count
            let seed = UInt64(200 + 5 * (float32Inputs ? 1 : index))
            let k = geometry.kernel
            let area = channels * k * k
            let outSide = geometry.outputSize(side)
            let (input, x) = context.tensor([side, side, channels], seed: seed)
            let (weight, w) = context.tensor([outputs, area], seed: seed + 1, scale: 0.2)
            let (bias, b) = context.tensor([outputs], seed: seed + 2)
            let (residual, r) = context.tensor([outSide, outSide, outputs], seed: seed + 3)
            let prepared = backend.prepareConvolutionWeight(
                weight, inputs: channels, geometry: geometry, inputSide: side)
            let convolve = {
                backend.convolution(
                    input, weight: prepared, bias: bias, geometry: geometry, residual: hasResidual ? residual : nil,
                    activation: activation)
            }
            let result = float32Inputs ? backend.withFloat32ConvolutionInputs(convolve) : convolve()
            let tolerance = float32Inputs ? context.tolerance.float32Convolution : context.tolerance.product
            context.compare(name, backend.read(result), columns: outputs, tolerance: tolerance) {
                pixel in
                let (oy, ox) = (pixel / outSide, pixel % outSide)
                return (0..<outputs).map { output in
                    var sum = Double(b[output])
                    var scale = abs(sum)
                    for c in 0..<channels {
                        for ky in 0..<k {
                            let y = oy * geometry.stride - geometry.padding + ky
                            guard y >= 0 && y < side else { continue }
                            for kx in 0..<k {
                                let xx = ox * geometry.stride - geometry.padding + kx
                                guard xx >= 0 && xx < side else { continue }
                                let term =
                                    Double(x[(y * side + xx) * channels + c])
                                    * Double(w[output * area + (c * k + ky) * k + kx])
                                sum += term
                                scale += abs(term)
                            }
                        }
                    }
                    if hasResidual {
                        let extra = Double(r[pixel * outputs + output])
                        sum += extra
                        scale += abs(extra)
                    }
                    return (referenceActivation(sum, activation), scale)
                }
            }
        }

        let side = shapes.imageSide / 2
        let channels = stemOutputs
        let geometry = ConvolutionGeometry(kernel: 3, stride: 2, padding: 1)
        let outSide = geometry.outputSize(side)
        // All below zero, so a padded zero winning would show.
        let (input, x) = context.tensor([side, side, channels], seed: 230)
        let shifted = backend.addRow(
            input, row: backend.makeTensor(shape: [channels], values: [Float](repeating: -2, count: channels)), scale: 1
        )
        context.compareValues(
            "maxPool", backend.read(backend.maxPool(shifted, geometry: geometry)), columns: channels, tolerance: 0
        ) { pixel in
            let (oy, ox) = (pixel / outSide, pixel % outSide)
            return (0..<channels).map { c in
                var best = -Double.infinity
                for y in max(0, oy * 2 - 1)..<min(side, oy * 2 + 2) {
                    for xx in max(0, ox * 2 - 1)..<min(side, ox * 2 + 2) {
                        best = max(best, Double(x[(y * side + xx) * channels + c] + -2))
                    }
                }
                return best
            }
        }
    }
}
