/* base.c: arena, heap wrappers, string builder, hash map, files, hashing. */
#define _GNU_SOURCE
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void urc_internal_error(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "unetrc: internal error: %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    urc_outfile_abort_all();
    abort();
}

/* ---- memory ------------------------------------------------------------ */

void *urc_xmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) urc_internal_error(__FILE__, __LINE__, "out of memory (%zu bytes)", size);
    return p;
}

void *urc_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) urc_internal_error(__FILE__, __LINE__, "out of memory (%zu x %zu bytes)", n, size);
    return p;
}

void *urc_xrealloc(void *p, size_t size) {
    void *q = realloc(p, size ? size : 1);
    if (!q) urc_internal_error(__FILE__, __LINE__, "out of memory (%zu bytes)", size);
    return q;
}

/* The bump arena: a list of 1 MiB chunks (bigger requests get their own). */
typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} chunk;
static chunk *arena_head;

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
    memcpy(p, s, n);
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
    memcpy(sb->data + sb->len, p, n);
    sb->len += n;
    sb->data[sb->len] = 0;
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

/* ---- files -------------------------------------------------------------- */

void *urc_read_file(const char *path, size_t *size, size_t max_size, const char **err) {
    static char msg[256];
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, sizeof msg, "cannot open file: %s", strerror(errno));
        *err = msg;
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        *err = "not a regular file";
        return NULL;
    }
    if ((uint64_t)st.st_size > (uint64_t)max_size) {
        fclose(f);
        snprintf(msg, sizeof msg, "file is %lld bytes, above the limit of %zu bytes (raise it with --max-bytes)",
                 (long long)st.st_size, max_size);
        *err = msg;
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = urc_xmalloc(n + 1);
    if (fread(buf, 1, n, f) != n) {
        fclose(f);
        free(buf);
        *err = "read error";
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    *size = n;
    return buf;
}

struct urc_outfile {
    char *path, *tmp;
    FILE *f;
    bool ok;
    struct urc_outfile *next;
};
static urc_outfile *open_outfiles;

urc_outfile *urc_outfile_open(const char *path, const char **err) {
    static char msg[300];
    urc_outfile *o = urc_xcalloc(1, sizeof *o);
    o->path = strdup(path);
    size_t n = strlen(path) + 32;
    o->tmp = urc_xmalloc(n);
    snprintf(o->tmp, n, "%s.tmp%ld", path, (long)getpid());
    o->f = fopen(o->tmp, "wb");
    if (!o->f) {
        snprintf(msg, sizeof msg, "cannot create output file: %s", strerror(errno));
        *err = msg;
        free(o->path);
        free(o->tmp);
        free(o);
        return NULL;
    }
    o->ok = true;
    o->next = open_outfiles;
    open_outfiles = o;
    return o;
}

bool urc_outfile_write(urc_outfile *o, const void *data, size_t n) {
    if (o->ok && n && fwrite(data, 1, n, o->f) != n) o->ok = false;
    return o->ok;
}

static void outfile_unlink(urc_outfile *o) {
    for (urc_outfile **p = &open_outfiles; *p; p = &(*p)->next)
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

bool urc_outfile_commit(urc_outfile *o, const char **err) {
    static char msg[300];
    outfile_unlink(o);
    bool ok = o->ok;
    if (fflush(o->f) != 0) ok = false;
    if (ok && fsync(fileno(o->f)) != 0) ok = false;
    if (fclose(o->f) != 0) ok = false;
    if (!ok) {
        snprintf(msg, sizeof msg, "cannot write output file: %s", strerror(errno));
        *err = msg;
        remove(o->tmp);
        outfile_free(o);
        return false;
    }
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

void urc_outfile_abort(urc_outfile *o) {
    outfile_unlink(o);
    fclose(o->f);
    remove(o->tmp);
    outfile_free(o);
}

void urc_outfile_abort_all(void) {
    while (open_outfiles) urc_outfile_abort(open_outfiles);
}

bool urc_write_file_atomic(const char *path, const void *data, size_t n, const char **err) {
    urc_outfile *o = urc_outfile_open(path, err);
    if (!o) return false;
    urc_outfile_write(o, data, n);
    return urc_outfile_commit(o, err);
}

uint64_t urc_fnv1a64(const void *data, size_t n, uint64_t h) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
