/* base.c: arena, heap wrappers, string builder, hash map, files, hashing. */
#define _GNU_SOURCE
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

void urc_internal_error(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "unetrc: internal error: %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    urc_cleanup_all();
    abort();
}

/* ---- memory ------------------------------------------------------------ */

static void track_add(void *p);

/* Running out of memory is not a compiler bug: a large model on a small
 * machine (or under `ulimit -v`) gets a one-line error and exit status 1
 * (urc_out_of_memory, proc.c), with every temporary file removed. */
void *urc_xmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) urc_out_of_memory(size);
    track_add(p);
    return p;
}

void *urc_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    size_t total;
    if (!p) urc_out_of_memory(__builtin_mul_overflow(n, size, &total) ? SIZE_MAX : total);
    track_add(p);
    return p;
}

void *urc_xrealloc(void *p, size_t size) {
    void *q = realloc(p, size ? size : 1);
    if (!q) urc_out_of_memory(size);
    track_add(q);
    return q;
}

/* ---- heap tracking (see base.h) ------------------------------------------
 * An open-addressing set of block addresses in mmap'd memory (the free hook
 * runs inside the allocator and must not allocate). The sanitizer runtime's
 * free hook drops a block from the set wherever it is freed, realloc
 * included. A spin lock guards the set because other threads (libFuzzer's)
 * may free memory while the compiler thread records a block. */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *)) __attribute__((weak));

enum { TRK_EMPTY = 0, TRK_TOMB = 1 };
static struct {
    uintptr_t *slots;
    size_t cap, live, used; /* used counts tombstones too */
} trk;
static atomic_flag trk_lock = ATOMIC_FLAG_INIT;
static bool trk_hooked, trk_on;

static void trk_lock_take(void) {
    while (atomic_flag_test_and_set_explicit(&trk_lock, memory_order_acquire)) {
    }
}
static void trk_lock_give(void) { atomic_flag_clear_explicit(&trk_lock, memory_order_release); }
static size_t trk_slot(uintptr_t p, size_t cap) { return (size_t)((p >> 4) * 0x9e3779b97f4a7c15ULL >> 17) & (cap - 1); }

static uintptr_t *trk_find(uintptr_t p) {
    if (!trk.cap) return NULL;
    for (size_t i = trk_slot(p, trk.cap);; i = (i + 1) & (trk.cap - 1)) {
        if (trk.slots[i] == TRK_EMPTY) return NULL;
        if (trk.slots[i] == p) return &trk.slots[i];
    }
}

static void trk_grow(void) {
    size_t cap = 4096;
    while (cap < 4 * (trk.live + 1)) cap *= 2;
    void *m = mmap(NULL, cap * sizeof(uintptr_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        trk_lock_give();
        urc_internal_error(__FILE__, __LINE__, "heap tracking: out of memory");
    }
    uintptr_t *old = trk.slots;
    size_t old_cap = trk.cap;
    trk.slots = m;
    trk.cap = cap;
    trk.live = trk.used = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i] > TRK_TOMB) {
            size_t j = trk_slot(old[i], cap);
            while (trk.slots[j] != TRK_EMPTY) j = (j + 1) & (cap - 1);
            trk.slots[j] = old[i];
            trk.live++, trk.used++;
        }
    if (old) munmap(old, old_cap * sizeof(uintptr_t));
}

static void track_add(void *p) {
    if (!trk_on) return;
    uintptr_t u = (uintptr_t)p;
    trk_lock_take();
    if (!trk_find(u)) {
        if (2 * (trk.used + 1) > trk.cap) trk_grow();
        size_t i = trk_slot(u, trk.cap);
        while (trk.slots[i] > TRK_TOMB) i = (i + 1) & (trk.cap - 1);
        if (trk.slots[i] == TRK_EMPTY) trk.used++;
        trk.slots[i] = u;
        trk.live++;
    }
    trk_lock_give();
}

static void trk_malloc_hook(const volatile void *p, size_t n) {
    (void)p;
    (void)n;
}

static void trk_free_hook(const volatile void *p) {
    if (!trk_on || !p) return;
    trk_lock_take();
    uintptr_t *s = trk_find((uintptr_t)p);
    if (s) {
        *s = TRK_TOMB;
        trk.live--;
    }
    trk_lock_give();
}

bool urc_heap_track_begin(void) {
    if (!trk_hooked) {
        if (!__sanitizer_install_malloc_and_free_hooks ||
            !__sanitizer_install_malloc_and_free_hooks(trk_malloc_hook, trk_free_hook))
            return false;
        trk_hooked = true;
    }
    trk_on = true;
    return true;
}

bool urc_heap_tracking(void) { return trk_on; }

typedef struct chunk chunk;
static void arena_free_all(void);

void urc_heap_release(void) {
    if (!trk_on) return;
    urc_outfile_abort_all();
    arena_free_all(); /* the hook forgets the chunks it tracked */
    trk_on = false;
    for (size_t i = 0; i < trk.cap; i++)
        if (trk.slots[i] > TRK_TOMB) free((void *)trk.slots[i]);
    if (trk.cap) memset(trk.slots, 0, trk.cap * sizeof(uintptr_t));
    trk.live = trk.used = 0;
    trk_on = true;
}

/* The bump arena: a list of 1 MiB chunks (bigger requests get their own). */
struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};
static chunk *arena_head;

static void arena_free_all(void) {
    while (arena_head) {
        chunk *c = arena_head;
        arena_head = c->next;
        free(c);
    }
}

void *urc_alloc(size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (!arena_head || arena_head->cap - arena_head->used < size) {
        size_t cap = size > (1u << 20) ? size : (1u << 20);
        chunk *c = urc_xmalloc(sizeof(chunk) + cap);
        c->next = arena_head;
        c->used = 0;
        c->cap = cap;
        arena_head = c;
    }
    void *p = arena_head->data + arena_head->used;
    arena_head->used += size;
    memset(p, 0, size);
    return p;
}

char *urc_strndup(const char *s, size_t n) {
    char *p = urc_alloc(n + 1);
    if (n) memcpy(p, s, n); /* s may be NULL when n is 0 (an empty protobuf bytes field) */
    p[n] = 0;
    return p;
}

char *urc_strdup(const char *s) { return urc_strndup(s, strlen(s)); }

const char *urc_c_comment(const char *s) {
    if (!s) return "";
    size_t n = strlen(s);
    char *r = urc_alloc(2 * n + 1), *q = r;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        *q++ = c < 0x20 || c == 0x7f ? ' ' : (char)c;
        if ((c == '*' && s[i + 1] == '/') || (c == '/' && s[i + 1] == '*')) *q++ = ' ';
    }
    *q = 0;
    return r;
}

char *urc_vfmt(const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *p = urc_alloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *urc_fmt(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = urc_vfmt(fmt, ap);
    va_end(ap);
    return p;
}

/* ---- string builder ----------------------------------------------------- */

static void sb_reserve(urc_strbuf *sb, size_t extra) {
    if (sb->len + extra + 1 <= sb->cap) return;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + extra + 1) cap *= 2;
    sb->data = urc_xrealloc(sb->data, cap);
    sb->cap = cap;
}

void urc_sb_write(urc_strbuf *sb, const void *p, size_t n) {
    sb_reserve(sb, n);
    if (n) memcpy(sb->data + sb->len, p, n);
    sb->len += n;
    sb->data[sb->len] = 0;
}

void urc_sb_put_i64(urc_strbuf *sb, int64_t v) {
    char buf[24], *p = buf + sizeof buf;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0) *--p = '-';
    urc_sb_write(sb, p, (size_t)(buf + sizeof buf - p));
}

void urc_sb_putc(urc_strbuf *sb, char c) { urc_sb_write(sb, &c, 1); }
void urc_sb_puts(urc_strbuf *sb, const char *s) { urc_sb_write(sb, s, strlen(s)); }

void urc_sb_vprintf(urc_strbuf *sb, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    sb_reserve(sb, (size_t)n);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void urc_sb_printf(urc_strbuf *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    urc_sb_vprintf(sb, fmt, ap);
    va_end(ap);
}

void urc_sb_free(urc_strbuf *sb) {
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

/* ---- hash map (open addressing, linear probing) ------------------------ */

static uint64_t str_hash(const char *s) { return urc_fnv1a64(s, strlen(s), URC_FNV_INIT); }

void *urc_map_get(const urc_map *m, const char *key) {
    if (!m->cap) return NULL;
    for (uint64_t i = str_hash(key) & (uint64_t)(m->cap - 1);; i = (i + 1) & (uint64_t)(m->cap - 1)) {
        urc_map_entry *e = &m->slots[i];
        if (!e->key) return NULL;
        if (!strcmp(e->key, key)) return e->val;
    }
}

void urc_map_put(urc_map *m, const char *key, void *val) {
    if (2 * (m->len + 1) > m->cap) {
        urc_map old = *m;
        m->cap = old.cap ? 2 * old.cap : 64;
        m->slots = urc_xcalloc((size_t)m->cap, sizeof(urc_map_entry));
        m->len = 0;
        for (int i = 0; i < old.cap; i++)
            if (old.slots[i].key) urc_map_put(m, old.slots[i].key, old.slots[i].val);
        free(old.slots);
    }
    for (uint64_t i = str_hash(key) & (uint64_t)(m->cap - 1);; i = (i + 1) & (uint64_t)(m->cap - 1)) {
        urc_map_entry *e = &m->slots[i];
        if (!e->key) {
            e->key = key;
            e->val = val;
            m->len++;
            return;
        }
        if (!strcmp(e->key, key)) {
            e->val = val;
            return;
        }
    }
}

void urc_map_free(urc_map *m) {
    free(m->slots);
    m->slots = NULL;
    m->cap = m->len = 0;
}

/* ---- hash index ---------------------------------------------------------- */

static void hindex_link(urc_hindex *x, int e) {
    int b = (int)(x->h[e] & (uint64_t)(x->nbucket - 1));
    x->next[e] = x->bucket[b];
    x->bucket[b] = e;
}

int urc_hindex_add(urc_hindex *x, uint64_t h) {
    if (x->len == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 64;
        x->h = urc_xrealloc(x->h, sizeof(uint64_t) * (size_t)x->cap);
        x->next = urc_xrealloc(x->next, sizeof(int) * (size_t)x->cap);
    }
    x->h[x->len++] = h;
    if (2 * x->len > x->nbucket) { /* rehash into twice the buckets */
        x->nbucket = x->nbucket ? 2 * x->nbucket : 128;
        x->bucket = urc_xrealloc(x->bucket, sizeof(int) * (size_t)x->nbucket);
        for (int i = 0; i < x->nbucket; i++) x->bucket[i] = -1;
        for (int e = 0; e < x->len; e++) hindex_link(x, e);
    } else {
        hindex_link(x, x->len - 1);
    }
    return x->len - 1;
}

int urc_hindex_first(const urc_hindex *x, uint64_t h) {
    if (!x->nbucket) return -1;
    int e = x->bucket[h & (uint64_t)(x->nbucket - 1)];
    while (e >= 0 && x->h[e] != h) e = x->next[e];
    return e;
}

int urc_hindex_next(const urc_hindex *x, int e) {
    uint64_t h = x->h[e];
    for (e = x->next[e]; e >= 0 && x->h[e] != h;) e = x->next[e];
    return e;
}

void urc_hindex_free(urc_hindex *x) {
    free(x->h);
    free(x->next);
    free(x->bucket);
    *x = (urc_hindex){0};
}

/* ---- files -------------------------------------------------------------- */

void *urc_read_file(const char *path, size_t *size, size_t max_size, const char **err) {
    static char msg[256];
    /* O_NONBLOCK: opening a FIFO (or a terminal) must not wait for a
     * writer; anything but a regular file is refused before it is read. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, sizeof msg, "cannot open file: %s", strerror(errno));
        *err = msg;
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        *err = "not a regular file";
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if ((uint64_t)st.st_size > (uint64_t)max_size) {
        close(fd);
        snprintf(msg, sizeof msg, "file is %lld bytes, above the limit of %zu bytes (raise it with --max-bytes)",
                 (long long)st.st_size, max_size);
        *err = msg;
        return NULL;
    }
    size_t n = (size_t)st.st_size, got = 0;
    unsigned char *buf = urc_xmalloc(n + 1);
    int e = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            e = r < 0 ? errno : 0;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        free(buf);
        snprintf(msg, sizeof msg, "read error: %s", e ? strerror(e) : "the file shrank while it was read");
        *err = msg;
        return NULL;
    }
    buf[n] = 0;
    *size = n;
    return buf;
}

struct urc_outfile {
    char *path, *tmp;
    FILE *f;
    int err;     /* errno of the first failed write, flush or sync; 0: none */
    bool closed; /* flushed, synced and closed; still to be renamed */
    struct urc_outfile *next;
};
static urc_outfile *volatile open_outfiles;
static pid_t outfiles_pid; /* the process the list belongs to: never a forked child */

/* The temporary file is PATH.tmpPID.N, created with O_EXCL (so two outputs
 * of one run, or two runs, never share one; a link planted there is not
 * followed) and mode 0666 & ~umask, as the final file would be. */
urc_outfile *urc_outfile_open(const char *path, const char **err) {
    static char msg[300];
    static unsigned counter;
    urc_outfile *o = urc_xcalloc(1, sizeof *o);
    size_t plen = strlen(path);
    o->path = urc_xmalloc(plen + 1);
    memcpy(o->path, path, plen + 1);
    size_t n = plen + 48;
    o->tmp = urc_xmalloc(n);
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(o->tmp, n, "%s.tmp%ld.%u", path, (long)getpid(), counter++);
        fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    o->f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!o->f) {
        snprintf(msg, sizeof msg, "cannot create output file: %s", strerror(errno));
        *err = msg;
        if (fd >= 0) {
            close(fd);
            unlink(o->tmp);
        }
        free(o->path);
        free(o->tmp);
        free(o);
        return NULL;
    }
    if (outfiles_pid != getpid()) {
        open_outfiles = NULL; /* inherited from the process this one was forked from: not ours */
        outfiles_pid = getpid();
    }
    o->next = open_outfiles;
    open_outfiles = o;
    return o;
}

bool urc_outfile_write(urc_outfile *o, const void *data, size_t n) {
    errno = 0;
    if (!o->err && n && fwrite(data, 1, n, o->f) != n) o->err = errno ? errno : EIO;
    return !o->err;
}

static void outfile_unlink(urc_outfile *o) {
    for (urc_outfile *volatile *p = &open_outfiles; *p; p = &(*p)->next)
        if (*p == o) {
            *p = o->next;
            break;
        }
}

static void outfile_free(urc_outfile *o) {
    free(o->path);
    free(o->tmp);
    free(o);
}

bool urc_outfile_close(urc_outfile *o, const char **err) {
    static char msg[300];
    if (!o->closed) {
        errno = 0;
        if (fflush(o->f) != 0 && !o->err) o->err = errno ? errno : EIO;
        if (!o->err && fsync(fileno(o->f)) != 0) o->err = errno;
        errno = 0;
        if (fclose(o->f) != 0 && !o->err) o->err = errno ? errno : EIO;
        o->f = NULL;
        o->closed = true;
    }
    if (o->err) {
        snprintf(msg, sizeof msg, "cannot write output file: %s", strerror(o->err));
        *err = msg;
        return false;
    }
    return true;
}

static bool outfile_rename(urc_outfile *o, const char **err) {
    static char msg[300];
    outfile_unlink(o);
    if (rename(o->tmp, o->path) != 0) {
        snprintf(msg, sizeof msg, "cannot rename output file into place: %s", strerror(errno));
        *err = msg;
        remove(o->tmp);
        outfile_free(o);
        return false;
    }
    outfile_free(o);
    return true;
}

bool urc_outfile_commit(urc_outfile *o, const char **err) { return urc_outfile_commit_all(&o, 1, err, NULL); }

/* An exclusive flock on each distinct folder the files go to, taken in
 * (device, inode) order so that two processes locking overlapping sets
 * cannot wait on each other. A folder that cannot be opened or locked
 * (no read permission, a file system without flock) is not locked. */
typedef struct dir_lock {
    int fd;
    dev_t dev;
    ino_t ino;
} dir_lock;

static int lock_folders(urc_outfile **fs, int n, dir_lock *locks) {
    int nl = 0;
    for (int i = 0; i < n; i++) {
        const char *path = fs[i]->path, *slash = strrchr(path, '/');
        const char *dir = !slash ? "." : slash == path ? "/" : urc_strndup(path, (size_t)(slash - path));
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        if (fd < 0) continue;
        bool seen = fstat(fd, &st) != 0;
        for (int j = 0; j < nl && !seen; j++) seen = locks[j].dev == st.st_dev && locks[j].ino == st.st_ino;
        if (seen) {
            close(fd);
            continue;
        }
        int j = nl++;
        for (;
             j > 0 && (locks[j - 1].dev > st.st_dev || (locks[j - 1].dev == st.st_dev && locks[j - 1].ino > st.st_ino));
             j--)
            locks[j] = locks[j - 1];
        locks[j] = (dir_lock){fd, st.st_dev, st.st_ino};
    }
    for (int k = 0; k < nl; k++)
        while (flock(locks[k].fd, LOCK_EX) != 0 && errno == EINTR) {
        }
    return nl;
}

/* Test hook (fault_tests.sh): a pause between the renames of a set, so that
 * a test can signal the process or race another one in the middle. */
static long commit_pause_ms(void) {
    const char *s = getenv("UNETRC_TEST_COMMIT_PAUSE_MS");
    long v = s ? atol(s) : 0;
    return v > 0 && v < 60000 ? v : 0;
}

bool urc_outfile_commit_all(urc_outfile **fs, int n, const char **err, int *failed) {
    static char msg[300];
    int bad = -1;
    /* 1. Every temporary file is complete on disk. */
    for (int i = 0; i < n && bad < 0; i++)
        if (!urc_outfile_close(fs[i], err)) bad = i;
    /* 2. One set at a time per destination folder. */
    dir_lock *locks = urc_xcalloc((size_t)n, sizeof *locks);
    int nl = bad < 0 ? lock_folders(fs, n, locks) : 0;
    /* 3. No destination is a folder (the one failure rename(2) would give
     *    on a path we could create a file next to). */
    for (int i = 0; i < n && bad < 0; i++) {
        struct stat st;
        if (lstat(fs[i]->path, &st) == 0 && S_ISDIR(st.st_mode)) { /* as rename(2) sees it: a link is replaced */
            snprintf(msg, sizeof msg, "cannot rename output file into place: %s", strerror(EISDIR));
            *err = msg;
            bad = i;
        }
    }
    bool ok = bad < 0;
    if (!ok) {
        if (failed) *failed = bad;
        for (int i = 0; i < n; i++) urc_outfile_abort(fs[i]);
    } else {
        /* 4. Rename them all, the signals the CLI handles blocked: one that
         *    arrives now takes effect after the last rename, not between
         *    two of them. */
        sigset_t old;
        urc_signals_block(&old);
        long pause = commit_pause_ms();
        for (int i = 0; i < n; i++) {
            if (i && pause) {
                struct timespec ts = {pause / 1000, pause % 1000 * 1000000L};
                while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
                }
            }
            if (!outfile_rename(fs[i], err)) {
                if (failed) *failed = i;
                for (int j = i + 1; j < n; j++) urc_outfile_abort(fs[j]);
                ok = false;
                break;
            }
        }
        for (int k = 0; k < nl; k++) fsync(locks[k].fd); /* the renames are durable */
        for (int k = 0; k < nl; k++) close(locks[k].fd);
        nl = 0;
        urc_signals_restore(&old);
    }
    for (int k = 0; k < nl; k++) close(locks[k].fd);
    free(locks);
    return ok;
}

void urc_outfile_abort(urc_outfile *o) {
    outfile_unlink(o);
    if (o->f) fclose(o->f);
    remove(o->tmp);
    outfile_free(o);
}

void urc_outfile_abort_all(void) {
    if (outfiles_pid != getpid()) {
        open_outfiles = NULL;
        return;
    }
    while (open_outfiles) urc_outfile_abort(open_outfiles);
}

void urc_outfile_remove_temps(void) {
    if (outfiles_pid != getpid()) return;
    for (urc_outfile *o = open_outfiles; o; o = o->next) unlink(o->tmp);
}

bool urc_write_file_atomic(const char *path, const void *data, size_t n, const char **err) {
    urc_outfile *o = urc_outfile_open(path, err);
    if (!o) return false;
    urc_outfile_write(o, data, n);
    return urc_outfile_commit(o, err);
}

bool urc_dims_fit(const int64_t *dims, int rank, int64_t elem_size, uint64_t max_bytes, int64_t *numel) {
    int64_t span = elem_size > 0 ? elem_size : 1, n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) return false;
        if (!urc_mul_ok(span, dims[i] ? dims[i] : 1, &span) || (uint64_t)span > max_bytes) return false;
        n *= dims[i]; /* <= span / elem_size: cannot overflow */
    }
    if ((uint64_t)span > max_bytes) return false;
    if (numel) *numel = n;
    return true;
}

uint64_t urc_fnv1a64(const void *data, size_t n, uint64_t h) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

void urc_split_words(const char *s, urc_argv *out) {
    for (const char *p = s; *p;) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *q = p;
        while (*q && *q != ' ') q++;
        URC_VEC_PUSH(*out, urc_strndup(p, (size_t)(q - p)));
        p = q;
    }
}
