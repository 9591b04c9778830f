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
    };
    return resolve(handle, entries, (int)(sizeof entries / sizeof entries[0]));
}

const char *ofa_cuda_resolve_blas(void *handle, ofa_cuda_blas *table) {
    const entry entries[] = {{"cublasGetProperty", (void **)&table->property}};
    return resolve(handle, entries, 1);
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
