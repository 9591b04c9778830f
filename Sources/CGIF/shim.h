// giflib's encoder interface (Debian: libgif-dev). Only Visualize/Output/GIFEncoder.swift imports it.
#include <gif_lib.h>
