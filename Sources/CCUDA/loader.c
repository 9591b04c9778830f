// dlopen and dlsym for CCUDA.h: each entry point by the versioned name its library exports.
#define _GNU_SOURCE
#include "CCUDA.h"

#include <dlfcn.h>
#include <link.h>

void *ofa_cuda_open(const char *path) { return dlopen(path, RTLD_NOW | RTLD_LOCAL); }

void ofa_cuda_close(void *handle) {
    if (handle) dlclose(handle);
}

const char *ofa_cuda_last_error(void) {
    const char *text = dlerror();
    return text ? text : "";
}

const char *ofa_cuda_opened_path(void *handle) {
    struct link_map *map = NULL;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || map == NULL) return NULL;
    return map->l_name;
}

typedef struct entry {
    const char *name;
    void **slot;
} entry;

static const char *resolve(void *handle, const entry *entries, int count) {
    for (int i = 0; i < count; i++) {
        void *address = dlsym(handle, entries[i].name);
        if (address == NULL) return entries[i].name;
        *entries[i].slot = address;
    }
    return NULL;
}

const char *ofa_cuda_resolve_driver(void *handle, ofa_cuda_driver *table) {
    const entry entries[] = {
        {"cuInit", (void **)&table->initialize},
        {"cuDriverGetVersion", (void **)&table->driver_version},
        {"cuDeviceGetCount", (void **)&table->device_count},
        {"cuDeviceGet", (void **)&table->device_get},
        {"cuDeviceGetName", (void **)&table->device_name},
        {"cuDeviceGetAttribute", (void **)&table->device_attribute},
        {"cuDeviceTotalMem_v2", (void **)&table->device_total_memory},
        {"cuGetErrorString", (void **)&table->error_string},
        {"cuDevicePrimaryCtxRetain", (void **)&table->primary_context_retain},
        {"cuDevicePrimaryCtxRelease_v2", (void **)&table->primary_context_release},
        {"cuCtxSetCurrent", (void **)&table->context_set_current},
        {"cuCtxSynchronize", (void **)&table->context_synchronize},
        {"cuMemGetInfo_v2", (void **)&table->memory_info},
        {"cuMemAlloc_v2", (void **)&table->allocate},
        {"cuMemFree_v2", (void **)&table->release},
        {"cuMemAllocAsync", (void **)&table->allocate_async},
        {"cuMemFreeAsync", (void **)&table->release_async},
        {"cuMemcpyHtoDAsync_v2", (void **)&table->upload_async},
        {"cuMemcpyDtoHAsync_v2", (void **)&table->download_async},
        {"cuMemcpyDtoDAsync_v2", (void **)&table->copy_async},
        {"cuMemsetD32Async", (void **)&table->set_async},
        {"cuStreamCreate", (void **)&table->stream_create},
        {"cuStreamDestroy_v2", (void **)&table->stream_destroy},
        {"cuStreamSynchronize", (void **)&table->stream_synchronize},
        {"cuModuleLoadData", (void **)&table->module_load},
        {"cuModuleUnload", (void **)&table->module_unload},
        {"cuModuleGetFunction", (void **)&table->module_function},
        {"cuLaunchKernel", (void **)&table->launch},
        {"cuDeviceGetDefaultMemPool", (void **)&table->default_memory_pool},
        {"cuMemPoolSetAttribute", (void **)&table->memory_pool_set_attribute},
    };
    return resolve(handle, entries, (int)(sizeof entries / sizeof entries[0]));
}

const char *ofa_cuda_resolve_blas(void *handle, ofa_cuda_blas *table) {
    const entry entries[] = {
        {"cublasGetProperty", (void **)&table->property},
        {"cublasCreate_v2", (void **)&table->create},
        {"cublasDestroy_v2", (void **)&table->destroy},
        {"cublasSetStream_v2", (void **)&table->set_stream},
        {"cublasSetMathMode", (void **)&table->set_math_mode},
        {"cublasSgemm_v2", (void **)&table->sgemm},
        {"cublasSgemmStridedBatched", (void **)&table->sgemm_strided_batched},
    };
    return resolve(handle, entries, (int)(sizeof entries / sizeof entries[0]));
}

const char *ofa_cuda_resolve_nvrtc(void *handle, ofa_cuda_nvrtc *table) {
    const entry entries[] = {
        {"nvrtcVersion", (void **)&table->version},
        {"nvrtcCreateProgram", (void **)&table->create_program},
        {"nvrtcCompileProgram", (void **)&table->compile_program},
        {"nvrtcGetProgramLogSize", (void **)&table->log_size},
        {"nvrtcGetProgramLog", (void **)&table->log},
        {"nvrtcGetCUBINSize", (void **)&table->cubin_size},
        {"nvrtcGetCUBIN", (void **)&table->cubin},
        {"nvrtcDestroyProgram", (void **)&table->destroy_program},
        {"nvrtcGetErrorString", (void **)&table->error_string},
    };
    return resolve(handle, entries, (int)(sizeof entries / sizeof entries[0]));
}
