// Kernel bodies, included by kernels.c once per instruction set with SUFFIX naming that copy. Sixteen-lane vectors
// throughout: one register with AVX-512, two with AVX2, four with SSE2.

// e^x as FastMath.exp8 computes it: 2^n · p(r), n = round(x·log2 e), r = x − n·ln 2, p a degree-7 Taylor
// polynomial; exactly 0 below −87.
static inline __attribute__((always_inline)) v16f SUFFIX(exp16)(v16f x) {
    const v16f low = (v16f){} - 87.0f;
    const v16f high = (v16f){} + 88.0f;
    v16i below = x < low;
    v16f clamped = __builtin_elementwise_min(__builtin_elementwise_max(x, low), high);
    v16f shifted = clamped * 1.44269504f + 12582912.0f;
    v16f n = shifted - 12582912.0f;
    v16f r = (clamped - n * 0.69314575f) - n * 1.4286068e-6f;
    v16f p = (v16f){} + 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    v16i exponent = ((v16i)shifted - 0x4B400000 + 127) << 23;
    v16f result = p * (v16f)exponent;
    return (v16f)((v16i)result & ~below);
}

static inline __attribute__((always_inline)) float SUFFIX(lanes_max)(v16f v) {
    float m = v[0];
    for (int i = 1; i < 16; i++) m = v[i] > m ? v[i] : m;
    return m;
}

static inline __attribute__((always_inline)) float SUFFIX(lanes_sum)(v16f v) {
    float s = 0;
    for (int i = 0; i < 16; i++) s += v[i];
    return s;
}

static void SUFFIX(softmax_row)(
    float *x, long keys, const float *absolute, const ofa_bucket_bias *terms, int term_count, long head, long heads,
    long row, int causal) {
    long vectors = keys / 16 * 16;
    if (absolute) {
        for (long j = 0; j < vectors; j += 16) *(v16f *)(x + j) += *(const v16f *)(absolute + j);
        for (long j = vectors; j < keys; j++) x[j] += absolute[j];
    }
    for (int t = 0; t < term_count; t++) {
        const ofa_bucket_bias *term = terms + t;
        long i = row - term->row_offset;
        if (i < 0 || i >= term->rows) continue;
        float *line = x + term->column_offset;
        const int32_t *buckets = term->buckets + i * term->columns;
        const float *table = term->table + head * term->table_size;
        long j = 0;
#if LEVEL == 3
        for (; j + 16 <= term->columns; j += 16) {
            __m512i index = _mm512_loadu_si512(buckets + j);
            _mm512_storeu_ps(line + j, _mm512_add_ps(_mm512_loadu_ps(line + j), _mm512_i32gather_ps(index, table, 4)));
        }
#elif LEVEL == 2
        for (; j + 8 <= term->columns; j += 8) {
            __m256i index = _mm256_loadu_si256((const __m256i *)(buckets + j));
            _mm256_storeu_ps(line + j, _mm256_add_ps(_mm256_loadu_ps(line + j), _mm256_i32gather_ps(table, index, 4)));
        }
#endif
        for (; j < term->columns; j++) line[j] += table[buckets[j]];
    }
    if (causal)
        for (long j = row + 1; j < keys; j++) x[j] = -__builtin_inff();

    v16f peaks = (v16f){} - __builtin_inff();
    for (long j = 0; j < vectors; j += 16) peaks = __builtin_elementwise_max(peaks, *(v16f *)(x + j));
    float peak = SUFFIX(lanes_max)(peaks);
    for (long j = vectors; j < keys; j++) peak = x[j] > peak ? x[j] : peak;
    if (peak == -__builtin_inff()) peak = 0;

    v16f sums = {};
    for (long j = 0; j < vectors; j += 16) {
        v16f e = SUFFIX(exp16)(*(v16f *)(x + j) - peak);
        *(v16f *)(x + j) = e;
        sums += e;
    }
    float sum = SUFFIX(lanes_sum)(sums);
    if (vectors < keys) {
        v16f tail = (v16f){} - __builtin_inff();
        for (long j = vectors; j < keys; j++) tail[j - vectors] = x[j] - peak;
        tail = SUFFIX(exp16)(tail);
        for (long j = vectors; j < keys; j++) {
            x[j] = tail[j - vectors];
            sum += x[j];
        }
    }
    float inverse = 1 / sum;
    for (long j = 0; j < vectors; j += 16) *(v16f *)(x + j) *= inverse;
    for (long j = vectors; j < keys; j++) x[j] *= inverse;
}

static void SUFFIX(layer_norm_row)(
    const float *x, float *y, long width, const float *gain, const float *shift, float epsilon) {
    long vectors = width / 16 * 16;
    v16f sums = {};
    for (long j = 0; j < vectors; j += 16) sums += *(const v16f *)(x + j);
    float sum = SUFFIX(lanes_sum)(sums);
    for (long j = vectors; j < width; j++) sum += x[j];
    float mean = sum / (float)width;
    v16f squares = {};
    for (long j = 0; j < vectors; j += 16) {
        v16f centred = *(const v16f *)(x + j) - mean;
        squares += centred * centred;
    }
    float square = SUFFIX(lanes_sum)(squares);
    for (long j = vectors; j < width; j++) square += (x[j] - mean) * (x[j] - mean);
    float inverse = 1 / __builtin_sqrtf(square / (float)width + epsilon);
    for (long j = 0; j < vectors; j += 16)
        *(v16f *)(y + j) = (*(const v16f *)(x + j) - mean) * inverse * *(const v16f *)(gain + j) +
                           *(const v16f *)(shift + j);
    for (long j = vectors; j < width; j++) y[j] = (x[j] - mean) * inverse * gain[j] + shift[j];
}
