// oneDNN's C API (Debian: libdnnl-dev, built on OpenMP) plus small helpers that take dims as pointers, since Swift
// sees dnnl_dims_t as a tuple. OpenMP's thread count is oneDNN's.
#include <oneapi/dnnl/dnnl.h>
#include <string.h>

void omp_set_num_threads(int count);
int omp_get_max_threads(void);

static inline dnnl_status_t ofa_dnnl_memory_desc(
    dnnl_memory_desc_t *desc, int rank, const int64_t *dims, dnnl_data_type_t type, const int64_t *strides) {
    dnnl_dims_t shape, steps;
    memset(shape, 0, sizeof shape);
    memset(steps, 0, sizeof steps);
    for (int i = 0; i < rank; i++) {
        shape[i] = dims[i];
        steps[i] = strides[i];
    }
    return dnnl_memory_desc_init_by_strides(desc, rank, shape, type, steps);
}

static inline dnnl_status_t ofa_dnnl_memory_desc_any(
    dnnl_memory_desc_t *desc, int rank, const int64_t *dims, dnnl_data_type_t type) {
    dnnl_dims_t shape;
    memset(shape, 0, sizeof shape);
    for (int i = 0; i < rank; i++) shape[i] = dims[i];
    return dnnl_memory_desc_init_by_tag(desc, rank, shape, type, dnnl_format_tag_any);
}

static inline dnnl_status_t ofa_dnnl_convolution_desc(
    dnnl_convolution_desc_t *desc, const dnnl_memory_desc_t *source, const dnnl_memory_desc_t *weights,
    const dnnl_memory_desc_t *bias, const dnnl_memory_desc_t *destination, int64_t stride, int64_t padding) {
    dnnl_dims_t strides, paddings;
    memset(strides, 0, sizeof strides);
    memset(paddings, 0, sizeof paddings);
    strides[0] = strides[1] = stride;
    paddings[0] = paddings[1] = padding;
    return dnnl_convolution_forward_desc_init(
        desc, dnnl_forward_inference, dnnl_convolution_direct, source, weights, bias, destination, strides, paddings,
        paddings);
}

static inline const char *ofa_dnnl_implementation(const_dnnl_primitive_desc_t descriptor) {
    const char *name = NULL;
    if (dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &name) != dnnl_success) return "?";
    return name;
}
