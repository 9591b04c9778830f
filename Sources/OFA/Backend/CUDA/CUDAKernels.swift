// The CUDA backend's own kernels: one CUDA C source that NVRTC compiles for the device's exact architecture.
// Products go to cuBLAS; these are the elementwise and row-wise steps, each the CPU backend's counterpart (the
// attention softmax and LayerNorm as CKernels computes them), plus the convolutions' im2col and the max-pool.
// Compiled in CI for sm_75, sm_80 and sm_90 (CUDAKernelsTests). Every kernel also runs on the host through a shim
// (CUDAKernelsHostTests): the row kernels give each row to one warp and keep a row's maths in `__host__ __device__`
// helpers, whose lane reductions are warp shuffles on the device and a single lane on the host. No GPU has run them
// yet.

public enum CUDAKernels {
    /// Every kernel of `source`, as ptxas names them.
    public static let entryPoints = [
        "ofa_add", "ofa_add_row", "ofa_scale", "ofa_epilogue", "ofa_gather_rows", "ofa_layer_norm",
        "ofa_add_bucket_bias", "ofa_attention_softmax", "ofa_im2col", "ofa_max_pool", "ofa_transpose",
        "ofa_scale_groups", "ofa_zero_nan", "ofa_activation_gradient", "ofa_layer_norm_gradient",
        "ofa_softmax_gradient", "ofa_gradient_weighted_mean", "ofa_residual_normalized",
    ]

    /// The name NVRTC compiles `source` under (it appears in its log).
    public static let fileName = "ofad_kernels.cu"

    /// Architectures the CI compile check covers: Turing, Ampere and Hopper.
    public static let checkedArchitectures = ["sm_75", "sm_80", "sm_90"]

    /// Threads per block of every launch; a multiple of the warp, so each of the row kernels' warps owns one row.
    public static let blockThreads = 256

    /// Lanes that share a row in the row kernels on the device (one warp).
    public static let rowLanes = 32

    /// A convolution weight `[outputs, channels · kernel · kernel]` in PyTorch's (c, ky, kx) order, reordered to
    /// `ofa_im2col`'s (ky, kx, c) columns.
    public static func channelsLastWeight(_ weight: [Float], outputs: Int, channels: Int, kernel: Int) -> [Float] {
        let taps = kernel * kernel
        precondition(weight.count == outputs * channels * taps, "convolution weight of \(weight.count) values")
        var result = [Float](repeating: 0, count: weight.count)
        for output in 0..<outputs {
            let row = output * channels * taps
            for channel in 0..<channels {
                for tap in 0..<taps { result[row + tap * channels + channel] = weight[row + channel * taps + tap] }
            }
        }
        return result
    }

    public static let source = #"""
        // −∞ (NVRTC has no math.h for INFINITY).
        #define OFA_MINUS_INFINITY __int_as_float(0xff800000)

        // The row kernels' lanes: a warp's 32 on the device, reduced with shuffles; one on the host (the shim), where
        // a "thread" computes a whole row.
        #if defined(__CUDACC__)
        #define OFA_LANES 32
        __device__ __forceinline__ float ofa_lanes_sum(float value) {
            for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
            return value;
        }
        __device__ __forceinline__ float ofa_lanes_max(float value) {
            for (int offset = 16; offset > 0; offset /= 2)
                value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
            return value;
        }
        #else
        #define OFA_LANES 1
        static inline float ofa_lanes_sum(float value) { return value; }
        static inline float ofa_lanes_max(float value) { return value; }
        #endif

        // The index of this thread over a grid of 1-D blocks.
        __device__ __forceinline__ long ofa_index() { return (long)blockIdx.x * blockDim.x + threadIdx.x; }

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

        // A product's or a convolution's epilogue in place: x[r, j] + bias[j] + residual[r, j] (bias and residual may
        // be NULL), then activation 0 none, 1 ReLU, 2 GELU with the exact erf (torch's default). With the folded
        // BatchNorm's channel shift as the bias it finishes a ResNet convolution.
        extern "C" __global__ void ofa_epilogue(
            float *x, const float *bias, const float *residual, long rows, long width, int activation) {
            long i = ofa_index();
            if (i >= rows * width) return;
            float value = x[i] + (bias ? bias[i % width] : 0.0f);
            if (residual) value += residual[i];
            if (activation == 1) value = fmaxf(value, 0.0f);
            if (activation == 2) value = 0.5f * value * (1.0f + erff(value * 0.70710678118654752f));
            x[i] = value;
        }

        // out[i, :] = table[indices[i], :] for `count` rows of `width`; every index is checked by the caller. Also packs
        // the recorded attention rows ([heads · rows, keys] viewed as a table) into one buffer for a single copy.
        extern "C" __global__ void ofa_gather_rows(float *out, const float *table, const int *indices, long count, long width) {
            long i = ofa_index();
            if (i < count * width) out[i] = table[(long)indices[i / width] * width + i % width];
        }

        // A row's mean and 1 / √(biased variance + epsilon), by the OFA_LANES lanes that own it (this thread being
        // `lane`), in two passes as CKernels takes them.
        __host__ __device__ __forceinline__ void ofa_row_moments(
            const float *x, long width, float epsilon, int lane, float *mean, float *inverse) {
            float sum = 0.0f;
            for (long j = lane; j < width; j += OFA_LANES) sum += x[j];
            float m = ofa_lanes_sum(sum) / (float)width;
            float squares = 0.0f;
            for (long j = lane; j < width; j += OFA_LANES) squares += (x[j] - m) * (x[j] - m);
            *mean = m;
            *inverse = 1.0f / sqrtf(ofa_lanes_sum(squares) / (float)width + epsilon);
        }

        // One row's LayerNorm by its lanes: (x − mean) / √(biased variance + epsilon) · gain + shift.
        __host__ __device__ __forceinline__ void ofa_layer_norm_row(
            const float *x, float *y, long width, const float *gain, const float *shift, float epsilon, int lane) {
            float mean, inverse;
            ofa_row_moments(x, width, epsilon, lane, &mean, &inverse);
            for (long j = lane; j < width; j += OFA_LANES) y[j] = (x[j] - mean) * inverse * gain[j] + shift[j];
        }

        // LayerNorm of `rows` rows of `width`, one warp per row (blocks of a multiple of 32 threads).
        extern "C" __global__ void ofa_layer_norm(
            const float *input, float *output, long rows, long width, const float *gain, const float *shift,
            float epsilon) {
            long row = ofa_index() / OFA_LANES;
            if (row >= rows) return;
            ofa_layer_norm_row(
                input + row * width, output + row * width, width, gain, shift, epsilon, threadIdx.x % OFA_LANES);
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

        // One row of the attention softmax by the lanes that own it: s + bias (bias may be NULL), the keys after
        // `query` at −∞ when causal, then the softmax in place. A row at −∞ throughout becomes NaN, as PyTorch's
        // softmax makes it.
        __host__ __device__ __forceinline__ void ofa_softmax_row(
            float *s, const float *bias, long keys, long query, int causal, int lane) {
            float peak = OFA_MINUS_INFINITY;
            for (long j = lane; j < keys; j += OFA_LANES) {
                float value = (causal && j > query) ? OFA_MINUS_INFINITY : s[j] + (bias ? bias[j] : 0.0f);
                s[j] = value;
                peak = fmaxf(peak, value);
            }
            peak = ofa_lanes_max(peak);
            float sum = 0.0f;
            for (long j = lane; j < keys; j += OFA_LANES) {
                float value = expf(s[j] - peak);
                s[j] = value;
                sum += value;
            }
            float inverse = 1.0f / ofa_lanes_sum(sum);
            for (long j = lane; j < keys; j += OFA_LANES) s[j] *= inverse;
        }

        // The attention softmax over scores [heads, rows, keys], one warp per row. The scores may be a block of
        // query rows first_row ..< first_row + rows of a sequence of `queries`; absolute (may be NULL) is the whole
        // sequence's [heads, queries, keys].
        extern "C" __global__ void ofa_attention_softmax(
            float *scores, const float *absolute, long heads, long rows, long keys, long first_row, long queries,
            int causal) {
            long row = ofa_index() / OFA_LANES;
            if (row >= heads * rows) return;
            long query = first_row + row % rows;
            ofa_softmax_row(
                scores + row * keys, absolute ? absolute + ((row / rows) * queries + query) * keys : 0, keys, query,
                causal, threadIdx.x % OFA_LANES);
        }

        // The columns of a convolution over a channels-last [height, width, channels] input: columns[p, (ky · kernel +
        // kx) · channels + c] = input[y, x, c] at y = oy · stride − padding + ky, x likewise (0 outside the image), for
        // output pixel p = oy · out_width + ox. The weight is reordered to match at load ([outputs, ky, kx, c]), so
        // neighbouring threads read neighbouring channels.
        extern "C" __global__ void ofa_im2col(
            float *columns, const float *input, long height, long width, long channels, long kernel, long stride,
            long padding, long out_height, long out_width) {
            long i = ofa_index();
            long row = kernel * kernel * channels;
            if (i >= out_height * out_width * row) return;
            long pixel = i / row, within = i % row;
            long c = within % channels, tap = within / channels;
            long y = (pixel / out_width) * stride - padding + tap / kernel;
            long x = (pixel % out_width) * stride - padding + tap % kernel;
            columns[i] = (y >= 0 && y < height && x >= 0 && x < width) ? input[(y * width + x) * channels + c] : 0.0f;
        }

        // Max-pooling of a channels-last input, one thread per output value; the padding never wins (PyTorch pads
        // with −∞).
        extern "C" __global__ void ofa_max_pool(
            float *out, const float *input, long height, long width, long channels, long kernel, long stride,
            long padding, long out_height, long out_width) {
            long i = ofa_index();
            if (i >= out_height * out_width * channels) return;
            long c = i % channels, pixel = i / channels;
            long y0 = (pixel / out_width) * stride - padding, x0 = (pixel % out_width) * stride - padding;
            float best = OFA_MINUS_INFINITY;
            for (long y = y0 < 0 ? 0 : y0; y < y0 + kernel && y < height; y++)
                for (long x = x0 < 0 ? 0 : x0; x < x0 + kernel && x < width; x++)
                    best = fmaxf(best, input[(y * width + x) * channels + c]);
            out[i] = best;
        }
        // out[c, r] = input[r, c] for input [rows, columns].
        extern "C" __global__ void ofa_transpose(float *out, const float *input, long rows, long columns) {
            long i = ofa_index();
            if (i < rows * columns) out[(i % columns) * rows + i / columns] = input[i];
        }

        // x[i] ·= scales[(i / group) % groups]: per-head factors over [rows, heads · head_width] (group head_width)
        // or over [heads, rows, keys] (group rows · keys).
        extern "C" __global__ void ofa_scale_groups(float *x, const float *scales, long n, long group, long groups) {
            long i = ofa_index();
            if (i < n) x[i] *= scales[(i / group) % groups];
        }

        // NaN entries set to 0 (no fast-math here, so x != x holds for NaN).
        extern "C" __global__ void ofa_zero_nan(float *x, long n) {
            long i = ofa_index();
            if (i < n && x[i] != x[i]) x[i] = 0.0f;
        }

        // g ·= activation′(pre) in place: 1 ReLU (0 where pre ≤ 0), 2 GELU (Φ(x) + x·φ(x)); 0 leaves g.
        extern "C" __global__ void ofa_activation_gradient(float *g, const float *pre, long n, int activation) {
            long i = ofa_index();
            if (i >= n) return;
            float x = pre[i];
            if (activation == 1 && x <= 0.0f) g[i] = 0.0f;
            if (activation == 2)
                g[i] *= 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * expf(-0.5f * x * x) * 0.3989422804014327f;
        }

        // One row's LayerNorm input gradient by its lanes: inverse · (g·w − mean(g·w) − x̂ · mean(g·w·x̂)).
        __host__ __device__ __forceinline__ void ofa_layer_norm_gradient_row(
            const float *x, const float *g, float *out, long width, const float *gain, float epsilon, int lane) {
            float mean, inverse;
            ofa_row_moments(x, width, epsilon, lane, &mean, &inverse);
            float gradient_sum = 0.0f, projection = 0.0f;
            for (long j = lane; j < width; j += OFA_LANES) {
                float scaled = g[j] * gain[j];
                gradient_sum += scaled;
                projection += scaled * (x[j] - mean);
            }
            float gradient_mean = ofa_lanes_sum(gradient_sum) / (float)width;
            projection = ofa_lanes_sum(projection) * inverse / (float)width;
            for (long j = lane; j < width; j += OFA_LANES)
                out[j] = inverse * (g[j] * gain[j] - gradient_mean - (x[j] - mean) * inverse * projection);
        }

        extern "C" __global__ void ofa_layer_norm_gradient(
            const float *input, const float *gradient, float *output, long rows, long width, const float *gain,
            float epsilon) {
            long row = ofa_index() / OFA_LANES;
            if (row >= rows) return;
            ofa_layer_norm_gradient_row(
                input + row * width, gradient + row * width, output + row * width, width, gain, epsilon,
                threadIdx.x % OFA_LANES);
        }

        // One row of a softmax's input gradient in place by its lanes: g = p ⊙ (g − Σ g·p).
        __host__ __device__ __forceinline__ void ofa_softmax_gradient_row(float *g, const float *p, long width, int lane) {
            float dot = 0.0f;
            for (long j = lane; j < width; j += OFA_LANES) dot += g[j] * p[j];
            dot = ofa_lanes_sum(dot);
            for (long j = lane; j < width; j += OFA_LANES) g[j] = p[j] * (g[j] - dot);
        }

        extern "C" __global__ void ofa_softmax_gradient(float *g, const float *p, long rows, long width) {
            long row = ofa_index() / OFA_LANES;
            if (row < rows) ofa_softmax_gradient_row(g + row * width, p + row * width, width, threadIdx.x % OFA_LANES);
        }

        // out[i] = mean over heads of max(g[h, i] · p[h, i], 0) for [heads, plane] inputs.
        extern "C" __global__ void ofa_gradient_weighted_mean(
            float *out, const float *g, const float *p, long heads, long plane) {
            long i = ofa_index();
            if (i >= plane) return;
            float sum = 0.0f;
            for (long h = 0; h < heads; h++) sum += fmaxf(g[h * plane + i] * p[h * plane + i], 0.0f);
            out[i] = sum * (1.0f / (float)heads);
        }

        // One row of R̄ = row-normalised (R − I) + I by its lanes (a row of R − I summing to 0 becomes NaN).
        __host__ __device__ __forceinline__ void ofa_residual_normalized_row(
            float *out, const float *r, long n, long row, int lane) {
            float sum = 0.0f;
            for (long j = lane; j < n; j += OFA_LANES) sum += r[j] - (j == row ? 1.0f : 0.0f);
            sum = ofa_lanes_sum(sum);
            for (long j = lane; j < n; j += OFA_LANES)
                out[j] = (r[j] - (j == row ? 1.0f : 0.0f)) / sum + (j == row ? 1.0f : 0.0f);
        }

        extern "C" __global__ void ofa_residual_normalized(float *out, const float *r, long n) {
            long row = ofa_index() / OFA_LANES;
            if (row < n) ofa_residual_normalized_row(out + row * n, r + row * n, n, row, threadIdx.x % OFA_LANES);
        }
        """#
}
