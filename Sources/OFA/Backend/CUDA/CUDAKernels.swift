// The CUDA backend's own kernels: one CUDA C source that NVRTC compiles for the device's exact architecture.
// Products go to cuBLAS; these are the elementwise and row-wise steps, each the CPU backend's counterpart (the
// attention softmax and LayerNorm as CKernels computes them). Compiled in CI for sm_75, sm_80 and sm_90
// (CUDAKernelsTests); the kernels without shared memory also run on the host through a shim (CUDAKernelsHostTests).
// No GPU has run them yet.

enum CUDAKernels {
    /// Every kernel of `source`, as ptxas names them.
    static let entryPoints = [
        "ofa_add", "ofa_add_row", "ofa_scale", "ofa_bias_activation", "ofa_gather_rows", "ofa_layer_norm",
        "ofa_add_bucket_bias", "ofa_attention_softmax",
    ]

    /// Architectures the CI compile check covers: Turing, Ampere and Hopper.
    static let checkedArchitectures = ["sm_75", "sm_80", "sm_90"]

    static let source = #"""
        // Threads per block of the row kernels (one block per row; they are launched with exactly this many).
        #define OFA_ROW_THREADS 256
        // −∞ (NVRTC has no math.h for INFINITY).
        #define OFA_MINUS_INFINITY __int_as_float(0xff800000)

        // The index of this thread over a grid of 1-D blocks.
        __device__ __forceinline__ long ofa_index() { return (long)blockIdx.x * blockDim.x + threadIdx.x; }

        // Sum or maximum of `value` over the block (OFA_ROW_THREADS threads); every thread gets the result.
        __device__ float ofa_block_reduce(float value, bool maximum) {
            __shared__ float partial[OFA_ROW_THREADS / 32];
            for (int offset = 16; offset > 0; offset /= 2) {
                float other = __shfl_xor_sync(0xffffffffu, value, offset);
                value = maximum ? fmaxf(value, other) : value + other;
            }
            int warp = threadIdx.x / 32;
            if ((threadIdx.x & 31) == 0) partial[warp] = value;
            __syncthreads();
            value = partial[0];
            for (int i = 1; i < OFA_ROW_THREADS / 32; i++) value = maximum ? fmaxf(value, partial[i]) : value + partial[i];
            __syncthreads();
            return value;
        }

        // out = a + b, n elements.
        extern "C" __global__ void ofa_add(float *out, const float *a, const float *b, long n) {
            long i = ofa_index();
            if (i < n) out[i] = a[i] + b[i];
        }

        // out[r, j] = input[r, j] · scale + row[j] for `rows` rows of `width`.
        extern "C" __global__ void ofa_add_row(
            float *out, const float *input, const float *row, float scale, long rows, long width) {
            long i = ofa_index();
            if (i < rows * width) out[i] = input[i] * scale + row[i % width];
        }

        // x ·= factor, n elements.
        extern "C" __global__ void ofa_scale(float *x, float factor, long n) {
            long i = ofa_index();
            if (i < n) x[i] *= factor;
        }

        // A product's epilogue in place: x[r, j] + bias[j] (bias may be NULL), then activation 0 none, 1 ReLU,
        // 2 GELU with the exact erf (torch's default).
        extern "C" __global__ void ofa_bias_activation(float *x, const float *bias, long rows, long width, int activation) {
            long i = ofa_index();
            if (i >= rows * width) return;
            float value = x[i] + (bias ? bias[i % width] : 0.0f);
            if (activation == 1) value = fmaxf(value, 0.0f);
            if (activation == 2) value = 0.5f * value * (1.0f + erff(value * 0.70710678118654752f));
            x[i] = value;
        }

        // out[i, :] = table[indices[i], :] for `count` rows of `width`; every index is checked by the caller.
        extern "C" __global__ void ofa_gather_rows(float *out, const float *table, const int *indices, long count, long width) {
            long i = ofa_index();
            if (i < count * width) out[i] = table[(long)indices[i / width] * width + i % width];
        }

        // LayerNorm of one row per block (OFA_ROW_THREADS threads): (x − mean) / √(biased variance + epsilon) · gain
        // + shift, the mean and variance in two passes as CKernels takes them.
        extern "C" __global__ void ofa_layer_norm(
            const float *input, float *output, long width, const float *gain, const float *shift, float epsilon) {
            const float *x = input + (long)blockIdx.x * width;
            float *y = output + (long)blockIdx.x * width;
            float sum = 0.0f;
            for (long j = threadIdx.x; j < width; j += blockDim.x) sum += x[j];
            float mean = ofa_block_reduce(sum, false) / (float)width;
            float squares = 0.0f;
            for (long j = threadIdx.x; j < width; j += blockDim.x) squares += (x[j] - mean) * (x[j] - mean);
            float inverse = rsqrtf(ofa_block_reduce(squares, false) / (float)width + epsilon);
            for (long j = threadIdx.x; j < width; j += blockDim.x) y[j] = (x[j] - mean) * inverse * gain[j] + shift[j];
        }

        // A relative position bias: scores[h, row_offset + i, column_offset + j] += table[h · table_size +
        // buckets[i · columns + j]] over scores [heads, rows, keys] (every bucket below table_size).
        extern "C" __global__ void ofa_add_bucket_bias(
            float *scores, long heads, long rows, long keys, const float *table, long table_size, const int *buckets,
            long bucket_rows, long bucket_columns, long row_offset, long column_offset) {
            long i = ofa_index();
            long per_head = bucket_rows * bucket_columns;
            if (i >= heads * per_head) return;
            long head = i / per_head, within = i % per_head;
            long row = row_offset + within / bucket_columns, column = column_offset + within % bucket_columns;
            scores[(head * rows + row) * keys + column] += table[head * table_size + buckets[within]];
        }

        // The attention softmax of one row of scores [heads, rows, keys] per block: plus absolute [heads, rows, keys]
        // (may be NULL), keys after the row's query (first_row + the row within its head) at −∞ when causal, then the
        // softmax in place. A row at −∞ throughout becomes NaN, as PyTorch's softmax makes it.
        extern "C" __global__ void ofa_attention_softmax(
            float *scores, const float *absolute, long rows, long keys, long first_row, int causal) {
            long row = blockIdx.x;
            long query = first_row + row % rows;
            float *s = scores + row * keys;
            const float *bias = absolute ? absolute + row * keys : 0;
            float peak = OFA_MINUS_INFINITY;
            for (long j = threadIdx.x; j < keys; j += blockDim.x) {
                float value = (causal && j > query) ? OFA_MINUS_INFINITY : s[j] + (bias ? bias[j] : 0.0f);
                s[j] = value;
                peak = fmaxf(peak, value);
            }
            peak = ofa_block_reduce(peak, true);
            float sum = 0.0f;
            for (long j = threadIdx.x; j < keys; j += blockDim.x) {
                float value = expf(s[j] - peak);
                s[j] = value;
                sum += value;
            }
            float inverse = 1.0f / ofa_block_reduce(sum, false);
            for (long j = threadIdx.x; j < keys; j += blockDim.x) s[j] *= inverse;
        }
        """#
}
