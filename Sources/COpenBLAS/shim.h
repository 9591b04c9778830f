// OpenBLAS's CBLAS interface plus its thread control (Debian: libopenblas-dev).
#include <cblas.h>
