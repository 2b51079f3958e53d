/* base.h: the small utilities every part of the compiler uses.
 *
 * Memory: the compiler is a short-lived program. Small objects (IR nodes,
 * names, attribute arrays) come from one bump arena that is freed at exit
 * (urc_alloc). Large tensor payloads use urc_xmalloc and are owned by the
 * value that holds them. Allocation failure ends the process with a one-line
 * error, "out of memory", and exit status 1 (urc_out_of_memory, proc.h). */
#ifndef URC_BASE_H
#define URC_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* URC_VERSION ("0.1.0") comes from CMake's project() version, the only
 * place it is written (a compile definition of every compiler target). */
#ifndef URC_VERSION
#error "URC_VERSION must be defined by the build (CMake project version)"
#endif

#if defined(__GNUC__)
#define URC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define URC_NORETURN __attribute__((noreturn))
#else
#define URC_PRINTF(a, b)
#define URC_NORETURN
#endif

#define URC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Internal invariant: prints file:line and aborts. Never used for errors a
 * user's input can cause; those go through urc_diag. */
#define URC_ASSERT(cond, msg)                                                                                          \
    do {                                                                                                               \
        if (!(cond)) urc_internal_error(__FILE__, __LINE__, "%s (%s)", msg, #cond);                                    \
    } while (0)

URC_NORETURN void urc_internal_error(const char *file, int line, const char *fmt, ...) URC_PRINTF(3, 4);

/* ---- memory ------------------------------------------------------------ */
void *urc_alloc(size_t size);   /* zeroed, from the bump arena */
void *urc_xmalloc(size_t size); /* heap, exits on OOM */
void *urc_xcalloc(size_t n, size_t size);
void *urc_xrealloc(void *p, size_t size);
char *urc_strdup(const char *s); /* arena copy */
char *urc_strndup(const char *s, size_t n);
char *urc_fmt(const char *fmt, ...) URC_PRINTF(1, 2); /* arena-allocated */
char *urc_vfmt(const char *fmt, va_list ap);

/* Heap tracking, for long-running callers (the fuzz harnesses) and leak
 * checks under sanitizers. The compiler frees little on its own: small
 * objects live in the bump arena and most heap blocks until exit. After
 * urc_heap_track_begin(), every block from urc_xmalloc/xcalloc/xrealloc is
 * remembered (blocks passed to free() anywhere are forgotten again) and
 * urc_heap_release() frees all that remain plus the arena, so a process can
 * compile many models. It needs the sanitizer allocator's malloc/free hooks
 * (ASan builds, gcc or clang); elsewhere begin returns false and release
 * does nothing. In ASan builds diag.c starts tracking before main and
 * releases at exit. Single-threaded use only; nothing allocated before
 * release may be used after it (urc_diag_release() first drops the
 * diagnostics). */
bool urc_heap_track_begin(void);
void urc_heap_release(void);
bool urc_heap_tracking(void);

/* ---- growable arrays (heap) ------------------------------------------- */
/* A vector is a pointer plus length and capacity fields, e.g.
 *   struct { urc_node **items; int len, cap; } v;  URC_VEC_PUSH(v, x); */
#define URC_VEC(T)                                                                                                     \
    struct {                                                                                                           \
        T *items;                                                                                                      \
        int len, cap;                                                                                                  \
    }
#define URC_VEC_PUSH(v, x)                                                                                             \
    do {                                                                                                               \
        if ((v).len == (v).cap) {                                                                                      \
            (v).cap = (v).cap ? 2 * (v).cap : 8;                                                                       \
            (v).items = urc_xrealloc((v).items, (size_t)(v).cap * sizeof(*(v).items));                                 \
        }                                                                                                              \
        (v).items[(v).len++] = (x);                                                                                    \
    } while (0)

/* A list of owned strings (command lines). */
typedef URC_VEC(char *) urc_argv;
/* Appends the space-separated words of s (a CC or CFLAGS value) to out. */
void urc_split_words(const char *s, urc_argv *out);

/* Text from the model or the command line made safe inside a C block
 * comment (arena copy): "*" "/" and "/" "*" get a space between them,
 * control characters become spaces. */
const char *urc_c_comment(const char *s);

/* ---- string builder ----------------------------------------------------- */
typedef struct urc_strbuf {
    char *data;
    size_t len, cap;
} urc_strbuf;

void urc_sb_putc(urc_strbuf *sb, char c);
void urc_sb_puts(urc_strbuf *sb, const char *s);
void urc_sb_write(urc_strbuf *sb, const void *p, size_t n);
void urc_sb_put_i64(urc_strbuf *sb, int64_t v); /* decimal, without printf's parsing */
void urc_sb_printf(urc_strbuf *sb, const char *fmt, ...) URC_PRINTF(2, 3);
void urc_sb_vprintf(urc_strbuf *sb, const char *fmt, va_list ap);
void urc_sb_free(urc_strbuf *sb);

/* ---- string -> pointer hash map (names are unique in an ONNX graph) ---- */
typedef struct urc_map_entry {
    const char *key;
    void *val;
} urc_map_entry;
typedef struct urc_map {
    urc_map_entry *slots;
    int cap, len;
} urc_map;

void *urc_map_get(const urc_map *m, const char *key);
void urc_map_put(urc_map *m, const char *key, void *val); /* key is not copied */
void urc_map_free(urc_map *m);

/* ---- hash index over a caller's array ----------------------------------
 * Maps 64-bit hashes to the positions 0, 1, 2, ... of the caller's items
 * (added in order): the caller keeps the items and confirms equality.
 *   for (int e = urc_hindex_first(&x, h); e >= 0; e = urc_hindex_next(&x, e))
 *       if (same(items[e], key)) ...
 * visits every item added with hash h (and no other). */
typedef struct urc_hindex {
    uint64_t *h; /* per item */
    int *next;   /* per item: the next item of its bucket, -1 at the end */
    int *bucket; /* nbucket heads (a power of two), -1 for empty */
    int len, cap, nbucket;
} urc_hindex;

int urc_hindex_add(urc_hindex *x, uint64_t h); /* returns the new item's position (x->len - 1) */
int urc_hindex_first(const urc_hindex *x, uint64_t h);
int urc_hindex_next(const urc_hindex *x, int e);
void urc_hindex_free(urc_hindex *x);
/* A 64-bit mixing step for structural hashes. */
static inline uint64_t urc_mix64(uint64_t h, uint64_t v) {
    h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 32);
}

/* ---- checked arithmetic ------------------------------------------------- */
/* Return false on overflow (result undefined then). */
static inline bool urc_mul_ok(int64_t a, int64_t b, int64_t *r) { return !__builtin_mul_overflow(a, b, r); }
static inline bool urc_add_ok(int64_t a, int64_t b, int64_t *r) { return !__builtin_add_overflow(a, b, r); }
/* The shape cap every tensor the compiler accepts obeys (initializers,
 * inputs, .npy files, inferred values): each dim is >= 0 and the product of
 * the dims, counting 0 as 1, times elem_size is at most max_bytes (the
 * --max-bytes cap, default 4 GiB). Then every partial product (strides, row
 * sizes, element offsets) fits in int64 too, even for empty tensors.
 * Returns false when the shape breaks the cap; *numel gets the true element
 * count otherwise. */
bool urc_dims_fit(const int64_t *dims, int rank, int64_t elem_size, uint64_t max_bytes, int64_t *numel);
static inline int64_t urc_align_up(int64_t x, int64_t a) { return (x + a - 1) / a * a; }

/* ---- files -------------------------------------------------------------- */
/* Reads a whole file into heap memory. Returns NULL and sets *err (a static
 * message such as "cannot open file: No such file or directory"). Only a
 * regular file is read: a FIFO, device, socket or folder is refused
 * ("not a regular file") without blocking on open. */
void *urc_read_file(const char *path, size_t *size, size_t max_size, const char **err);

/* Atomic output: data goes to a temporary file PATH.tmpPID.N in the
 * destination's folder and is renamed over `path` only by
 * urc_outfile_commit(_all). A process that fails before committing leaves
 * no file behind (urc_outfile_abort_all runs on every error exit, and the
 * signal handlers of proc.h remove the temporary files). */
typedef struct urc_outfile urc_outfile;
urc_outfile *urc_outfile_open(const char *path, const char **err);
bool urc_outfile_write(urc_outfile *f, const void *data, size_t n);
/* Flushes, syncs and closes the temporary file now (it stays to be
 * committed or aborted), freeing its descriptor: for outputs too many to
 * keep open at once. false and the message ("cannot write output file:
 * <the errno of the first failed write>") on a write error. */
bool urc_outfile_close(urc_outfile *f, const char **err);
bool urc_outfile_commit(urc_outfile *f, const char **err); /* closes, renames */
/* Commits several files as one set:
 *  1. all are flushed and synced (a full disk fails here, before any rename);
 *  2. each destination folder is locked (flock, exclusive) for the rest, so
 *     that two processes committing to the same folder never interleave
 *     their renames, and a reader holding a shared flock on the folder never
 *     sees half a set;
 *  3. no destination may be a folder;
 *  4. the renames run with the handled signals blocked (proc.h), so that a
 *     signal cannot stop the set half-renamed; then the folders are synced.
 * A failure in 1-3 leaves every destination untouched. On failure all are
 * aborted; *failed (if given) is the index of the file the message is about. */
bool urc_outfile_commit_all(urc_outfile **fs, int n, const char **err, int *failed);
void urc_outfile_abort(urc_outfile *f);
void urc_outfile_abort_all(void);
/* Unlinks every temporary file (async-signal-safe, for signal handlers). */
void urc_outfile_remove_temps(void);
/* Writes a whole buffer atomically. */
bool urc_write_file_atomic(const char *path, const void *data, size_t n, const char **err);

/* FNV-1a 64-bit, used for weight blob checksums and model hashes. */
uint64_t urc_fnv1a64(const void *data, size_t n, uint64_t h);
#define URC_FNV_INIT 0xcbf29ce484222325ULL

#endif
