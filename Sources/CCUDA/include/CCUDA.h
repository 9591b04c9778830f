// CUDA loaded at run time: the driver (libcuda.so.1), cuBLAS and NVRTC opened with dlopen, and only the entry points
// ofad calls resolved, by their versioned names. Minimal declarations of our own; no NVIDIA header is needed to
// build, and a machine without CUDA builds, tests and runs on the CPU.
#ifndef OFA_CCUDA_H
#define OFA_CCUDA_H

#include <stddef.h>

// The driver's entry points ofad probes with (CUresult is an int; CUdevice an int).
typedef struct ofa_cuda_driver {
    int (*initialize)(unsigned flags);                           // cuInit
    int (*driver_version)(int *version);                         // cuDriverGetVersion
    int (*device_count)(int *count);                             // cuDeviceGetCount
    int (*device_get)(int *device, int ordinal);                 // cuDeviceGet
    int (*device_name)(char *name, int length, int device);      // cuDeviceGetName
    int (*device_attribute)(int *value, int attribute, int device);  // cuDeviceGetAttribute
    int (*device_total_memory)(size_t *bytes, int device);       // cuDeviceTotalMem_v2
    int (*error_string)(int result, const char **text);          // cuGetErrorString
} ofa_cuda_driver;

// cuBLAS: its version without a handle (cublasGetProperty; libraryPropertyType 0, 1, 2 = major, minor, patch).
typedef struct ofa_cuda_blas {
    int (*property)(int type, int *value);  // cublasGetProperty
} ofa_cuda_blas;

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
