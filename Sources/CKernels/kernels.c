// Dispatch and threads for the kernels in kernel_bodies.h, which is compiled once per instruction set.
#include "CKernels.h"

#include <immintrin.h>
#include <malloc.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

// libgomp's entry points (the OpenMP runtime oneDNN is built on), declared here so no -fopenmp is needed.
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
int omp_get_thread_num(void);
int omp_get_num_threads(void);

// The 16-lane helpers are always inlined, so no vector crosses a call boundary between instruction sets.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float v16f __attribute__((vector_size(64), aligned(4)));
typedef int32_t v16i __attribute__((vector_size(64), aligned(4)));

#define SUFFIX(name) name##_avx512
#define LEVEL 3
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma"))), apply_to = function)
#include "kernel_bodies.h"
#pragma clang attribute pop
#undef SUFFIX
#undef LEVEL

#define SUFFIX(name) name##_avx2
#define LEVEL 2
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "kernel_bodies.h"
#pragma clang attribute pop
#undef SUFFIX
#undef LEVEL

#define SUFFIX(name) name##_sse2
#define LEVEL 1
#include "kernel_bodies.h"
#undef SUFFIX
#undef LEVEL

enum isa { ISA_UNKNOWN, ISA_SSE2, ISA_AVX2, ISA_AVX512 };

// The best instruction set this CPU has, and the one the kernels use (the best unless a test chose another);
// found once when the library loads.
static enum isa best = ISA_SSE2, chosen = ISA_SSE2;

__attribute__((constructor)) static void detect_instruction_set(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        best = ISA_AVX512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        best = ISA_AVX2;
    chosen = best;
}

static inline enum isa instruction_set(void) { return chosen; }

int ofa_kernels_use(const char *name) {
    enum isa wanted = ISA_UNKNOWN;
    if (__builtin_strcmp(name, "avx512") == 0) wanted = ISA_AVX512;
    if (__builtin_strcmp(name, "avx2") == 0) wanted = ISA_AVX2;
    if (__builtin_strcmp(name, "sse2") == 0) wanted = ISA_SSE2;
    if (wanted == ISA_UNKNOWN || wanted > best) return 0;
    chosen = wanted;
    return 1;
}

const char *ofa_kernels_instruction_set(void) {
    switch (instruction_set()) {
    case ISA_AVX512: return "avx512";
    case ISA_AVX2: return "avx2";
    default: return "sse2";
    }
}

typedef struct parallel_call {
    void (*body)(void *context, int worker, int workers);
    void *context;
} parallel_call;

static void run_worker(void *data) {
    parallel_call *call = data;
    call->body(call->context, omp_get_thread_num(), omp_get_num_threads());
}

void ofa_parallel(int threads, void (*body)(void *context, int worker, int workers), void *context) {
    if (threads <= 1) {
        body(context, 0, 1);
        return;
    }
    parallel_call call = {body, context};
    GOMP_parallel(run_worker, &call, (unsigned)threads, 0);
}

// Splits `count` items over the workers of one ofa_parallel call.
static void share(long count, int worker, int workers, long *begin, long *end) {
    *begin = count * worker / workers;
    *end = count * (worker + 1) / workers;
}

typedef struct populate_call {
    char *address;
    long pages;
} populate_call;

static void populate_worker(void *context, int worker, int workers) {
    const populate_call *call = context;
    const long page = 4096;
    long begin, end;
    share(call->pages, worker, workers, &begin, &end);
    if (end <= begin) return;
    char *first = call->address + begin * page;
    if (madvise(first, (size_t)(end - begin) * page, MADV_POPULATE_WRITE) == 0) return;
    for (long i = 0; i < end - begin; i++) ((volatile char *)first)[i * page] = 0;
}

void ofa_release_free_heap(void) { malloc_trim(0); }

void ofa_populate(void *address, size_t bytes, int threads) {
    populate_call call = {address, (long)((bytes + 4095) / 4096)};
    ofa_parallel(call.pages < 256 ? 1 : threads, populate_worker, &call);
}

typedef struct softmax_call {
    float *scores;
    long heads, rows, keys, first_row, total_rows;
    const float *absolute;
    const ofa_bucket_bias *terms;
    int term_count, causal;
} softmax_call;

static void softmax_worker(void *data, int worker, int workers) {
    softmax_call *c = data;
    long begin, end;
    share(c->heads * c->rows, worker, workers, &begin, &end);
    for (long line = begin; line < end; line++) {
        long head = line / c->rows;
        long row = c->first_row + line % c->rows;
        float *x = c->scores + line * c->keys;
        const float *absolute = c->absolute ? c->absolute + (head * c->total_rows + row) * c->keys : 0;
        switch (instruction_set()) {
        case ISA_AVX512:
            softmax_row_avx512(x, c->keys, absolute, c->terms, c->term_count, head, c->heads, row, c->causal);
            break;
        case ISA_AVX2:
            softmax_row_avx2(x, c->keys, absolute, c->terms, c->term_count, head, c->heads, row, c->causal);
            break;
        default:
            softmax_row_sse2(x, c->keys, absolute, c->terms, c->term_count, head, c->heads, row, c->causal);
        }
    }
}

void ofa_attention_softmax(
    float *scores, long heads, long rows, long keys, long first_row, long total_rows, const float *absolute,
    const ofa_bucket_bias *terms, int term_count, int causal, int threads) {
    softmax_call call = {scores, heads, rows, keys, first_row, total_rows, absolute, terms, term_count, causal};
    ofa_parallel(heads * rows * keys < 65536 ? 1 : threads, softmax_worker, &call);
}

typedef struct norm_call {
    const float *input;
    float *output;
    long rows, width;
    const float *gain, *shift;
    float epsilon;
} norm_call;

static void norm_worker(void *data, int worker, int workers) {
    norm_call *c = data;
    long begin, end;
    share(c->rows, worker, workers, &begin, &end);
    for (long row = begin; row < end; row++) {
        const float *x = c->input + row * c->width;
        float *y = c->output + row * c->width;
        switch (instruction_set()) {
        case ISA_AVX512: layer_norm_row_avx512(x, y, c->width, c->gain, c->shift, c->epsilon); break;
        case ISA_AVX2: layer_norm_row_avx2(x, y, c->width, c->gain, c->shift, c->epsilon); break;
        default: layer_norm_row_sse2(x, y, c->width, c->gain, c->shift, c->epsilon);
        }
    }
}

void ofa_layer_norm(
    const float *input, float *output, long rows, long width, const float *gain, const float *shift, float epsilon,
    int threads) {
    norm_call call = {input, output, rows, width, gain, shift, epsilon};
    ofa_parallel(rows * width < 65536 ? 1 : threads, norm_worker, &call);
}
