// The CPU backend's elementwise kernels that move the most memory: the attention softmax with its position bias
// fused in, and LayerNorm. Vectorised for AVX-512, AVX2 or SSE2, chosen at run time, and run on OpenMP's
// threads (oneDNN's), so the engine has one thread pool.
#ifndef OFA_KERNELS_H
#define OFA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

// A relative position bias: scores[h, row_offset + i, column_offset + j] += table[h·table_size + buckets[i·columns + j]]
// (the table head by head; every bucket below table_size).
typedef struct ofa_bucket_bias {
    const float *table;
    long table_size;
    const int32_t *buckets;
    long rows, columns, row_offset, column_offset;
} ofa_bucket_bias;

// Runs body(context, worker, workers) on `threads` OpenMP threads (the caller's thread is one of them).
void ofa_parallel(int threads, void (*body)(void *context, int worker, int workers), void *context);

// For the query rows first_row ..< first_row + rows of scores [heads, rows, keys] (a block of an attention with
// total_rows queries): adds absolute [heads, total_rows, keys] (or nothing when NULL) and each bucket bias, sets
// keys after the row's query to −∞ when causal, then takes the softmax of each row in place. A row that is −∞
// throughout becomes 0/0 = NaN, as PyTorch's softmax makes it.
void ofa_attention_softmax(
    float *scores, long heads, long rows, long keys, long first_row, long total_rows, const float *absolute,
    const ofa_bucket_bias *terms, int term_count, int causal, int threads);

// output[r] = (input[r] − mean) / √(variance + epsilon) · gain + shift for each of `rows` rows of `width`.
void ofa_layer_norm(
    const float *input, float *output, long rows, long width, const float *gain, const float *shift, float epsilon,
    int threads);

// Maps in every page of [address, address + bytes) writable, split over `threads` OpenMP threads: clearing fresh
// pages is the kernel's work, and it runs about twice as fast on two threads as on one. Uses MADV_POPULATE_WRITE
// (Linux 5.14 on); where the kernel refuses it, writes a zero to each page instead. `address` page-aligned.
void ofa_populate(void *address, size_t bytes, int threads);
// Hands the heap's free pages back to the system (glibc's malloc_trim): after loading, whose read buffers leave
// freed pages behind.
void ofa_release_free_heap(void);

// The instruction set the kernels run on here: "avx512", "avx2" or "sse2".
const char *ofa_kernels_instruction_set(void);

// For tests: runs the kernels on `name` ("avx512", "avx2" or "sse2") from now on, where this CPU has it;
// returns 0 (and changes nothing) where it does not.
int ofa_kernels_use(const char *name);

#endif
