// CUDA loaded at run time: the driver (libcuda.so.1), cuBLAS and NVRTC opened with dlopen, and only the entry points
// ofad calls resolved, by their versioned names. Minimal declarations of our own; no NVIDIA header is needed to
// build, and a machine without CUDA builds, tests and runs on the CPU.
#ifndef OFA_CCUDA_H
#define OFA_CCUDA_H

#include <stddef.h>

// The driver's entry points ofad calls (CUresult is an int; CUdevice an int; CUcontext, CUmodule, CUfunction and
// CUstream pointers; CUdeviceptr an unsigned 64-bit address).
typedef unsigned long long ofa_device_address;
typedef struct ofa_cuda_driver {
    int (*initialize)(unsigned flags);                           // cuInit
    int (*driver_version)(int *version);                         // cuDriverGetVersion
    int (*device_count)(int *count);                             // cuDeviceGetCount
    int (*device_get)(int *device, int ordinal);                 // cuDeviceGet
    int (*device_name)(char *name, int length, int device);      // cuDeviceGetName
    int (*device_attribute)(int *value, int attribute, int device);  // cuDeviceGetAttribute
    int (*device_total_memory)(size_t *bytes, int device);       // cuDeviceTotalMem_v2
    int (*error_string)(int result, const char **text);          // cuGetErrorString
    int (*primary_context_retain)(void **context, int device);   // cuDevicePrimaryCtxRetain
    int (*primary_context_release)(int device);                  // cuDevicePrimaryCtxRelease_v2
    int (*context_set_current)(void *context);                   // cuCtxSetCurrent
    int (*context_synchronize)(void);                            // cuCtxSynchronize
    int (*memory_info)(size_t *free, size_t *total);             // cuMemGetInfo_v2
    int (*allocate)(ofa_device_address *address, size_t bytes);  // cuMemAlloc_v2
    int (*release)(ofa_device_address address);                  // cuMemFree_v2
    int (*allocate_async)(ofa_device_address *address, size_t bytes, void *stream);  // cuMemAllocAsync
    int (*release_async)(ofa_device_address address, void *stream);                  // cuMemFreeAsync
    int (*upload_async)(ofa_device_address to, const void *from, size_t bytes, void *stream);  // cuMemcpyHtoDAsync_v2
    int (*download_async)(void *to, ofa_device_address from, size_t bytes, void *stream);      // cuMemcpyDtoHAsync_v2
    int (*copy_async)(ofa_device_address to, ofa_device_address from, size_t bytes, void *stream);  // cuMemcpyDtoDAsync_v2
    int (*set_async)(ofa_device_address to, unsigned value, size_t count, void *stream);  // cuMemsetD32Async
    int (*stream_create)(void **stream, unsigned flags);          // cuStreamCreate
    int (*stream_destroy)(void *stream);                          // cuStreamDestroy_v2
    int (*stream_synchronize)(void *stream);                      // cuStreamSynchronize
    int (*module_load)(void **module, const void *image);         // cuModuleLoadData
    int (*module_unload)(void *module);                           // cuModuleUnload
    int (*module_function)(void **function, void *module, const char *name);  // cuModuleGetFunction
    int (*launch)(void *function, unsigned grid_x, unsigned grid_y, unsigned grid_z, unsigned block_x,
                  unsigned block_y, unsigned block_z, unsigned shared_bytes, void *stream, void **parameters,
                  void **extra);                                  // cuLaunchKernel
    int (*default_memory_pool)(void **pool, int device);          // cuDeviceGetDefaultMemPool
    int (*memory_pool_set_attribute)(void *pool, int attribute, void *value);  // cuMemPoolSetAttribute
} ofa_cuda_driver;

// CUmemPool_attribute: bytes of freed memory the pool keeps instead of returning (a cuuint64_t).
#define OFA_CU_MEMPOOL_ATTR_RELEASE_THRESHOLD 4

// cuBLAS (cublasStatus_t an int, cublasHandle_t a pointer; column-major, as BLAS): its version without a handle
// (cublasGetProperty; libraryPropertyType 0, 1, 2 = major, minor, patch), handles bound to a stream, the math mode,
// and the single-precision products.
typedef struct ofa_cuda_blas {
    int (*property)(int type, int *value);                  // cublasGetProperty
    int (*create)(void **handle);                           // cublasCreate_v2
    int (*destroy)(void *handle);                           // cublasDestroy_v2
    int (*set_stream)(void *handle, void *stream);          // cublasSetStream_v2
    int (*set_math_mode)(void *handle, int mode);           // cublasSetMathMode
    int (*sgemm)(void *handle, int transa, int transb, int m, int n, int k, const float *alpha, const float *a,
                 int lda, const float *b, int ldb, const float *beta, float *c, int ldc);  // cublasSgemm_v2
    int (*sgemm_strided_batched)(void *handle, int transa, int transb, int m, int n, int k, const float *alpha,
                                 const float *a, int lda, long long stride_a, const float *b, int ldb,
                                 long long stride_b, const float *beta, float *c, int ldc, long long stride_c,
                                 int batch);                // cublasSgemmStridedBatched
} ofa_cuda_blas;

// cublasOperation_t and cublasMath_t values ofad uses.
#define OFA_CUBLAS_OP_N 0
#define OFA_CUBLAS_OP_T 1
#define OFA_CUBLAS_DEFAULT_MATH 0
#define OFA_CUBLAS_PEDANTIC_MATH 2
#define OFA_CUBLAS_TF32_TENSOR_OP_MATH 3

// NVRTC: CUDA C to a CUBIN (nvrtcResult is an int; nvrtcProgram a pointer).
typedef struct ofa_cuda_nvrtc {
    int (*version)(int *major, int *minor);  // nvrtcVersion
    int (*create_program)(void **program, const char *source, const char *name, int header_count,
                          const char *const *headers, const char *const *header_names);  // nvrtcCreateProgram
    int (*compile_program)(void *program, int option_count, const char *const *options);  // nvrtcCompileProgram
    int (*log_size)(void *program, size_t *bytes);                                        // nvrtcGetProgramLogSize
    int (*log)(void *program, char *text);                                                // nvrtcGetProgramLog
    int (*cubin_size)(void *program, size_t *bytes);                                      // nvrtcGetCUBINSize
    int (*cubin)(void *program, char *cubin);                                             // nvrtcGetCUBIN
    int (*destroy_program)(void **program);                                               // nvrtcDestroyProgram
    const char *(*error_string)(int result);                                              // nvrtcGetErrorString
} ofa_cuda_nvrtc;

// cuDeviceGetAttribute's attributes for the compute capability, and cuInit's answer where there is no GPU.
#define OFA_CU_COMPUTE_CAPABILITY_MAJOR 75
#define OFA_CU_COMPUTE_CAPABILITY_MINOR 76
// …and whether the device has stream-ordered memory pools (cuMemAllocAsync).
#define OFA_CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED 115
#define OFA_CU_ERROR_NO_DEVICE 100

// dlopen(path, RTLD_NOW | RTLD_LOCAL); NULL on failure (ofa_cuda_last_error says why).
void *ofa_cuda_open(const char *path);
void ofa_cuda_close(void *handle);
// dlerror's text, or "" when there is none.
const char *ofa_cuda_last_error(void);
// The file a handle was opened from (dlinfo's link map), or NULL.
const char *ofa_cuda_opened_path(void *handle);

// Fills each table's entry points from `handle`; returns NULL, or the name of the first entry point missing (then
// the table is left partly filled and must not be used).
const char *ofa_cuda_resolve_driver(void *handle, ofa_cuda_driver *table);
const char *ofa_cuda_resolve_blas(void *handle, ofa_cuda_blas *table);
const char *ofa_cuda_resolve_nvrtc(void *handle, ofa_cuda_nvrtc *table);

#endif
