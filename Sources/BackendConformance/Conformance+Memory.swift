// Data movement: uploads and reads, index gathers, tables, row slices, concatenation, transposes and copies, all
// exact (a bf16 table within its storage rounding).
import OFA

extension BackendConformance {
    func memoryChecks(_ context: inout ConformanceContext) {
        let backend = context.backend
        let shapes = context.shapes
        let width = shapes.width
        let (matrix, host) = context.tensor([shapes.tokens, width], seed: 1)
        context.compareValues("makeTensor, read", backend.read(matrix), columns: width, tolerance: 0) { row in
            host[(row * width)..<((row + 1) * width)].map { Double($0) }
        }
        let offset = width + 3
        let count = (shapes.tokens - 2) * width
        context.compareValues(
            "read(offset:count:)", backend.read(matrix, offset: offset, count: count), columns: width, tolerance: 0
        ) { row in
            host[(offset + row * width)..<(offset + (row + 1) * width)].map { Double($0) }
        }
        // Several tensors at once (the recorded attention): an empty one, a slice's worth, the whole matrix.
        let parts = [
            backend.makeTensor(shape: [0], values: []), backend.makeTensor(shape: [3], values: [1, -2, 3]), matrix,
        ]
        let together = backend.read(parts)
        context.compareValues(
            "read([tensors])", together.count == 3 ? together[2] : [], columns: width, tolerance: 0
        ) { row in
            host[(row * width)..<((row + 1) * width)].map { Double($0) }
        }
        context.compareValues(
            "read([tensors]), the small ones", together.count == 3 ? together[0] + together[1] : [], columns: 3,
            tolerance: 0
        ) { _ in [1, -2, 3] }
        context.compareValues(
            "zeros", backend.read(backend.zeros(shape: [shapes.tokens, width])), columns: width, tolerance: 0
        ) { _ in
            [Double](repeating: 0, count: width)
        }
        let n = shapes.decoderRows * 3
        context.compareValues("identity", backend.read(backend.identity(n)), columns: n, tolerance: 0) { row in
            (0..<n).map { $0 == row ? 1 : 0 }
        }

        // Gathers from a plain tensor and from a prepared table (the embedding), first and last rows included.
        let (table, tableHost) = context.tensor([shapes.vocabulary, width], seed: 2)
        let indices = (0..<shapes.tokens).map {
            Int32(($0 * 7919 + ($0 == 1 ? shapes.vocabulary - 1 : 0)) % shapes.vocabulary)
        }
        let indexTensor = backend.makeIndices(shape: [indices.count], values: indices)
        let gathered = backend.gatherRows(table, indices: indexTensor)
        context.compareValues("makeIndices, gatherRows", backend.read(gathered), columns: width, tolerance: 0) { row in
            let start = Int(indices[row]) * width
            return tableHost[start..<(start + width)].map { Double($0) }
        }
        let prepared = backend.prepareTable(table)
        context.compare(
            "prepareTable, gatherRows", backend.read(backend.gatherRows(prepared, indices: indexTensor)),
            columns: width,
            tolerance: context.tolerance.storage
        ) { row in
            let start = Int(indices[row]) * width
            return tableHost[start..<(start + width)].map { (Double($0), abs(Double($0))) }
        }

        let range = 2..<(shapes.tokens - 1)
        context.compareValues("rows", backend.read(backend.rows(matrix, range)), columns: width, tolerance: 0) { row in
            host[((range.lowerBound + row) * width)..<((range.lowerBound + row + 1) * width)].map { Double($0) }
        }
        let (second, secondHost) = context.tensor([shapes.decoderRows, width], seed: 3)
        context.compareValues(
            "concatenateRows", backend.read(backend.concatenateRows(matrix, second)), columns: width, tolerance: 0
        ) { row in
            row < shapes.tokens
                ? host[(row * width)..<((row + 1) * width)].map { Double($0) }
                : secondHost[((row - shapes.tokens) * width)..<((row - shapes.tokens + 1) * width)].map { Double($0) }
        }
        let tokens = shapes.tokens
        context.compareValues("transpose", backend.read(backend.transpose(matrix)), columns: tokens, tolerance: 0) {
            row in
            (0..<tokens).map { Double(host[$0 * width + row]) }
        }
        context.compareValues("copy", backend.read(backend.copy(matrix)), columns: width, tolerance: 0) { row in
            host[(row * width)..<((row + 1) * width)].map { Double($0) }
        }
        let kept = backend.withWorkspace(bytes: tokens * width * 4, keepingFor: 0) {
            backend.add(matrix, backend.zeros(shape: [tokens, width]))
        }
        context.compareValues("withWorkspace", backend.read(kept), columns: width, tolerance: 0) { row in
            host[(row * width)..<((row + 1) * width)].map { Double($0) }
        }
    }
}
