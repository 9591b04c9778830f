// Opening a file by a path inside a directory without ever leaving it: openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS) where the kernel has it, else a component-by-component O_NOFOLLOW walk. Linux only.
#ifndef OFA_FILE_ACCESS_H
#define OFA_FILE_ACCESS_H

#include <stdint.h>

enum ofa_open_status {
    OFA_OPEN_OK = 0,
    OFA_OPEN_ESCAPES = 1,       // the path leaves the directory ("..", an absolute part) or passes through a link
    OFA_OPEN_NOT_FOUND = 2,     // some component does not exist
    OFA_OPEN_NOT_REGULAR = 3,   // the file is not a regular file (a directory, FIFO, socket, device); never opened
    OFA_OPEN_CHANGED = 4,       // the file was replaced between its check and its opening
    OFA_OPEN_FAILED = 5,        // another error; see *error_number
};

// Opens `relative` (components separated by '/', no leading '/') beneath the directory `directory_fd` for
// reading, refusing symbolic links anywhere in the path and anything but a regular file, which is checked
// before the file is opened (a FIFO cannot make the caller wait). On OFA_OPEN_OK, *out_fd is an O_RDONLY |
// O_CLOEXEC descriptor the caller closes; *error_number holds errno on failure.
int ofa_open_beneath(int directory_fd, const char *relative, int *out_fd, int *error_number);

// An O_PATH | O_DIRECTORY | O_CLOEXEC descriptor of the directory at `path` (links followed), or -1 (errno).
int ofa_open_directory(const char *path);

#endif
