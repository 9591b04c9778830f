// libsystemd's daemon interface (Debian: libsystemd-dev). Only OFAServer/Systemd.swift imports it.
#include <systemd/sd-daemon.h>
