// The monotonic clock in seconds, for the decoders' deadlines (jpeg.c, png.c).
#ifndef OFA_MONOTONIC_H
#define OFA_MONOTONIC_H

#include <time.h>

static inline double monotonic_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

#endif
