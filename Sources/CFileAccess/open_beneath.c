// ofa_open_beneath: resolve the parent directory without links or escapes, check the last component is a regular
// file, then open it without following links and confirm it is the same file.
#define _GNU_SOURCE
#include "CFileAccess.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int status_of(int code) {
    switch (code) {
    case EXDEV:    // RESOLVE_BENEATH: the path left the directory
    case ELOOP:    // RESOLVE_NO_SYMLINKS or O_NOFOLLOW met a link
        return OFA_OPEN_ESCAPES;
    case ENOENT:
    case ENOTDIR:
        return OFA_OPEN_NOT_FOUND;
    default:
        return OFA_OPEN_FAILED;
    }
}

// The directory `path` names beneath `directory_fd` as an O_PATH descriptor, or -1 with errno set.
static int open_directory_beneath(int directory_fd, const char *path) {
    if (path[0] == '\0') return fcntl(directory_fd, F_DUPFD_CLOEXEC, 0);
#ifdef SYS_openat2
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, directory_fd, path, &how, sizeof how);
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return (int)fd;
#endif
    // No openat2 (kernel before 5.6, or a seccomp filter that refuses it): walk one component at a time.
    char *copy = strdup(path);
    if (!copy) return -1;
    int current = fcntl(directory_fd, F_DUPFD_CLOEXEC, 0);
    char *rest = copy;
    for (char *part; current >= 0 && (part = strsep(&rest, "/")) != NULL;) {
        if (part[0] == '\0' || strcmp(part, ".") == 0) continue;
        int next = -1;
        if (strcmp(part, "..") == 0) {
            errno = EXDEV;
        } else {
            next = openat(current, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            // A link opened with O_PATH | O_NOFOLLOW is the link itself, which O_DIRECTORY refuses with ENOTDIR.
            struct stat info;
            if (next < 0 && errno == ENOTDIR && fstatat(current, part, &info, AT_SYMLINK_NOFOLLOW) == 0
                && S_ISLNK(info.st_mode))
                errno = ELOOP;
        }
        int saved = errno;
        close(current);
        errno = saved;
        current = next;
    }
    free(copy);
    return current;
}

int ofa_open_beneath(int directory_fd, const char *relative, int *out_fd, int *error_number) {
    *out_fd = -1;
    *error_number = 0;
    if (relative[0] == '/') {
        *error_number = EXDEV;
        return OFA_OPEN_ESCAPES;
    }
    const char *slash = strrchr(relative, '/');
    const char *name = slash ? slash + 1 : relative;
    if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        *error_number = strcmp(name, "..") == 0 ? EXDEV : EISDIR;
        return strcmp(name, "..") == 0 ? OFA_OPEN_ESCAPES : OFA_OPEN_NOT_REGULAR;
    }
    char *parent_path = strndup(relative, slash ? (size_t)(slash - relative) : 0);
    if (!parent_path) {
        *error_number = ENOMEM;
        return OFA_OPEN_FAILED;
    }
    int parent = open_directory_beneath(directory_fd, parent_path);
    int saved = errno;
    free(parent_path);
    if (parent < 0) {
        *error_number = saved;
        return status_of(saved);
    }
    int status = OFA_OPEN_OK;
    struct stat before, after;
    if (fstatat(parent, name, &before, AT_SYMLINK_NOFOLLOW) != 0) {
        *error_number = errno;
        status = status_of(errno);
    } else if (S_ISLNK(before.st_mode)) {
        *error_number = ELOOP;
        status = OFA_OPEN_ESCAPES;
    } else if (!S_ISREG(before.st_mode)) {
        *error_number = EINVAL;
        status = OFA_OPEN_NOT_REGULAR;
    } else {
        // O_NONBLOCK: should a FIFO be swapped in after the check, opening it does not wait for a writer.
        int fd = openat(parent, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
            *error_number = errno;
            status = status_of(errno);
        } else if (fstat(fd, &after) != 0 || after.st_dev != before.st_dev || after.st_ino != before.st_ino
                   || !S_ISREG(after.st_mode)) {
            close(fd);
            *error_number = ESTALE;
            status = OFA_OPEN_CHANGED;
        } else {
            int flags = fcntl(fd, F_GETFL);
            if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
            *out_fd = fd;
        }
    }
    close(parent);
    return status;
}

int ofa_open_directory(const char *path) { return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC); }
