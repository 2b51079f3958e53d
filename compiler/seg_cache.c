/* seg_cache.c: the build cache of `unetrc segment` (see seg_cache.h). */
#define _GNU_SOURCE
#include "seg_cache.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "base/diag.h"
#include "base/proc.h"
#include "base/sha256.h"
#include "unetrc.h"

extern char **environ;

/* The UNETRC_* variables of the environment, sorted, one "NAME=VALUE" per line: they choose kernels and their
 * numerics (UNETRC_AMX, UNETRC_AMX_SPLIT, UNETRC_DOT2, UNETRC_CONV, ...), so they enter the cache key. */
static int cmp_env(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void env_key(urc_strbuf *sb) {
    URC_VEC(const char *) v = {0};
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, "UNETRC_", 7)) URC_VEC_PUSH(v, *e);
    if (v.len) qsort(v.items, (size_t)v.len, sizeof *v.items, cmp_env);
    for (int i = 0; i < v.len; i++) urc_sb_printf(sb, "env %zu:%s\n", strlen(v.items[i]), v.items[i]);
    free(v.items);
}

#define MANIFEST_MAGIC "unetrc segment cache 1"
#define GLUE_ABI 1

/* ---- small helpers ------------------------------------------------------------ */

static void sha_hex(const void *data, size_t n, char out[65]) {
    urc_sha256 s;
    urc_sha256_init(&s);
    urc_sha256_update(&s, data, n);
    urc_sha256_hex(&s, out);
}

/* SHA-256 of a regular file's contents, read through fd (left open). */
static bool sha_fd(int fd, char out[65]) {
    urc_sha256 s;
    urc_sha256_init(&s);
    static unsigned char buf[1 << 16];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return false;
        if (r == 0) break;
        urc_sha256_update(&s, buf, (size_t)r);
    }
    urc_sha256_hex(&s, out);
    return true;
}

static bool sha_file(const char *path, char out[65]) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && sha_fd(fd, out);
    close(fd);
    return ok;
}

/* The host CPU as /proc/cpuinfo names it (model and feature flags of the
 * first processor): code built with -march=native is only for this CPU. */
static const char *cpu_identity(void) {
    urc_strbuf sb = {0};
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[8192];
        bool seen[4] = {0};
        static const char *keys[4] = {"model name", "flags", "Features", "CPU part"};
        while (fgets(line, sizeof line, f))
            for (int k = 0; k < 4; k++)
                if (!seen[k] && !strncmp(line, keys[k], strlen(keys[k]))) {
                    seen[k] = true;
                    urc_sb_puts(&sb, line);
                }
        fclose(f);
    }
    const char *r = urc_strdup(sb.data ? sb.data : "unknown");
    urc_sb_free(&sb);
    return r;
}

/* mkdir -p with mode 0700 for what it creates. */
static bool make_dirs(const char *path) {
    char *p = urc_strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0700) != 0 && errno != EEXIST) return false;
        *s = '/';
    }
    return mkdir(p, 0700) == 0 || errno == EEXIST;
}

static const char *cache_root(const char *given) {
    if (given) return given;
    const char *x = getenv("XDG_CACHE_HOME");
    if (x && x[0] == '/') return urc_fmt("%s/unetrc", x);
    const char *h = getenv("HOME");
    if (h && h[0] == '/') return urc_fmt("%s/.cache/unetrc", h);
    return NULL;
}

/* The cache folder exists, is a folder, is ours and nobody else can write
 * into it. NULL, or why not. */
static const char *check_root(const char *root) {
    if (!make_dirs(root)) return urc_fmt("cannot create the cache folder: %s", strerror(errno));
    struct stat st;
    if (stat(root, &st) != 0) return urc_fmt("cannot use the cache folder: %s", strerror(errno));
    if (!S_ISDIR(st.st_mode)) return urc_fmt("cannot use the cache folder: %s", strerror(ENOTDIR));
    if (st.st_uid != geteuid() || (st.st_mode & 022))
        return urc_fmt("the cache folder is not private (owner uid %u, mode %04o); it holds code unetrc runs, so it "
                       "must belong to you and be writable by nobody else",
                       (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    return NULL;
}

/* ---- the manifest ---------------------------------------------------------------- */

typedef URC_VEC(const char *) strlist;

/* "so SHA", "model SHA", "external SHA PATH" lines after the magic. */
static const char *manifest_text(const char *model_sha, const char *so_sha, const urc_graph *g) {
    urc_strbuf sb = {0};
    urc_sb_printf(&sb, "%s\nversion %s\nmodel %s\nso %s\n", MANIFEST_MAGIC, URC_VERSION, model_sha, so_sha);
    for (int i = 0; g && i < g->external_files.len; i++) {
        char h[65];
        if (!sha_file(g->external_files.items[i], h)) memset(h, '0', 64), h[64] = 0;
        urc_sb_printf(&sb, "external %s %s\n", h, g->external_files.items[i]);
    }
    const char *r = urc_strdup(sb.data);
    urc_sb_free(&sb);
    return r;
}

/* Checks an entry's manifest against the model and its external files;
 * *so_sha gets the library's hash. NULL, or what is wrong. */
static const char *check_manifest(const char *entry, const char *model_sha, char so_sha[65]) {
    size_t n;
    const char *err;
    char *text = urc_read_file(urc_fmt("%s/manifest", entry), &n, 1 << 20, &err);
    if (!text) return urc_fmt("manifest: %s", err);
    const char *why = NULL;
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    if (!line || strcmp(line, MANIFEST_MAGIC)) why = "manifest: not a unetrc cache manifest";
    bool have_so = false, have_model = false;
    while (!why && (line = strtok_r(NULL, "\n", &save))) {
        if (!strncmp(line, "version ", 8)) {
            if (strcmp(line + 8, URC_VERSION)) why = "manifest: another unetrc version";
        } else if (!strncmp(line, "model ", 6)) {
            have_model = true;
            if (strcmp(line + 6, model_sha)) why = "manifest: another model";
        } else if (!strncmp(line, "so ", 3) && strlen(line + 3) == 64) {
            have_so = true;
            memcpy(so_sha, line + 3, 65);
        } else if (!strncmp(line, "external ", 9) && strlen(line) > 9 + 65) {
            char h[65];
            if (!sha_file(line + 9 + 65, h) || strncmp(h, line + 9, 64))
                why = urc_fmt("the model's external data file '%s' changed", line + 9 + 65);
        } else {
            why = "manifest: unknown line";
        }
    }
    if (!why && (!have_so || !have_model)) why = "manifest: incomplete";
    free(text);
    return why;
}

/* ---- loading an entry --------------------------------------------------------------- */

/* Loads CACHE/KEY into m. NULL, or what is wrong with the entry (then
 * nothing stays loaded). */
static const char *load_entry(const char *entry, const char *model_sha, urc_seg_model *m) {
    char so_sha[65], got[65];
    const char *why = check_manifest(entry, model_sha, so_sha);
    if (why) return why;
    const char *so = urc_fmt("%s/seg.so", entry);
    int fd = open(so, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return urc_fmt("seg.so: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !sha_fd(fd, got) || strcmp(got, so_sha)) {
        close(fd);
        return "seg.so: does not match its hash in the manifest";
    }
    /* Load what was hashed: through the same descriptor. */
    void *h = dlopen(urc_fmt("/proc/self/fd/%d", fd), RTLD_NOW | RTLD_LOCAL);
    if (!h && access("/proc/self/fd", F_OK) != 0) h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    close(fd);
    if (!h) {
        const char *e = dlerror();
        return urc_fmt("seg.so: cannot be loaded: %s", e ? e : "?");
    }
    const long long *abi = dlsym(h, "urc_glue_abi"), *sizes = dlsym(h, "urc_glue_sizes");
    const unsigned long long *sum = dlsym(h, "urc_glue_checksum");
    const long long *ins = dlsym(h, "urc_glue_in_shape"), *outs = dlsym(h, "urc_glue_out_shape");
    const long long *in_rank = dlsym(h, "urc_glue_in_rank"), *out_rank = dlsym(h, "urc_glue_out_rank");
    void *fwd = dlsym(h, "urc_glue_forward"), *thr = dlsym(h, "urc_glue_threads");
    if (!abi || *abi != GLUE_ABI || !sizes || !sum || !ins || !outs || !in_rank || !out_rank || !fwd || !thr ||
        (*in_rank != 4 && *in_rank != 5) || *out_rank != *in_rank) {
        dlclose(h);
        return "seg.so: not a unetrc segment library of this version";
    }
    m->rank = (int)*in_rank;
    for (int i = 0; i < m->rank; i++) m->in_shape[i] = ins[i], m->out_shape[i] = outs[i];
    m->arena_bytes = sizes[0];
    m->weights_bytes = sizes[1];
    /* The weights: read, 64-byte aligned, checked (magic, size, checksum). */
    const char *wpath = urc_fmt("%s/seg.weights", entry);
    size_t cap = (size_t)m->weights_bytes + 64, got_n = 0;
    void *blob = NULL;
    if (posix_memalign(&blob, 64, cap ? cap : 64) != 0) {
        dlclose(h);
        urc_out_of_memory(cap);
    }
    unetrc_status rs = unetrc_weights_read_file(wpath, blob, cap, &got_n);
    const void *payload = NULL;
    if (rs == UNETRC_OK) rs = unetrc_weights_open(blob, got_n, (uint64_t)m->weights_bytes, *sum, &payload);
    if (rs != UNETRC_OK) {
        free(blob);
        dlclose(h);
        return urc_fmt("seg.weights: %s", unetrc_status_str(rs));
    }
    m->weights_blob = blob;
    m->weights = payload;
    *(void **)&m->forward = fwd;
    *(void **)&m->set_threads = thr;
    m->entry = entry;
    return NULL;
}

/* ---- building an entry ---------------------------------------------------------------- */

/* The glue compiled with seg.c into seg.so: what load_entry looks up. */
static const char *glue_source(void) {
    return "/* glue.c: unetrc segment's view of the generated code (seg_cache.c). */\n"
           "#include \"seg.h\"\n"
           "#ifdef _OPENMP\n#include <omp.h>\n#endif\n"
           "const long long urc_glue_abi = 1;\n"
           "const long long urc_glue_sizes[2] = {SEG_ARENA_SIZE, SEG_WEIGHTS_SIZE};\n"
           "const unsigned long long urc_glue_checksum = SEG_WEIGHTS_CHECKSUM;\n"
           "const long long urc_glue_in_rank = SEG_IN0_RANK, urc_glue_in_shape[] = SEG_IN0_SHAPE;\n"
           "const long long urc_glue_out_rank = SEG_OUT0_RANK, urc_glue_out_shape[] = SEG_OUT0_SHAPE;\n"
           "int urc_glue_forward(const void *w, void *arena, const float *in, float *out) {\n"
           "    return seg_forward(w, arena, in, out);\n}\n"
           "void urc_glue_threads(int n) {\n"
           "#ifdef _OPENMP\n    if (n > 0) omp_set_num_threads(n);\n#else\n    (void)n;\n#endif\n}\n";
}

/* The model is one that segment can run: one float32 input [1, C, S...]
 * and one float32 output [1, K, S...] with the same spatial shape S (2 or 3
 * axes). Reports and returns false otherwise. */
static bool check_model(const urc_graph *g) {
    const char *why = NULL;
    if (g->inputs.len != 1 || g->outputs.len != 1) {
        why = urc_fmt("it has %d inputs and %d outputs", g->inputs.len, g->outputs.len);
    } else {
        const urc_value *x = g->inputs.items[0], *y = g->outputs.items[0];
        if (x->dtype != URC_DT_F32 || y->dtype != URC_DT_F32)
            why = urc_fmt("its input is %s and its output %s", urc_dtype_name(x->dtype), urc_dtype_name(y->dtype));
        else if ((x->shape.rank != 4 && x->shape.rank != 5) || y->shape.rank != x->shape.rank ||
                 x->shape.dims[0] != 1 || y->shape.dims[0] != 1)
            why = urc_fmt("its input is %s and its output %s", urc_shape_str(&x->shape), urc_shape_str(&y->shape));
        else
            for (int a = 2; a < x->shape.rank && !why; a++)
                if (x->shape.dims[a] != y->shape.dims[a])
                    why = urc_fmt("its output %s has another spatial shape than its input %s", urc_shape_str(&y->shape),
                                  urc_shape_str(&x->shape));
    }
    if (why)
        urc_error(NULL,
                  "segment needs a model with one float32 input [1,C,D,H,W] (or [1,C,H,W]) and one float32 "
                  "output of the same spatial shape; %s",
                  why);
    return !why;
}

/* Compiles the model and builds the entry's files in dir. */
/* The model's forward program "seg" and the options to emit it with; NULL
 * after reporting (the model's problems, or a model segment cannot run). */
static urc_program *compile_model(const urc_seg_cache_opts *o, urc_graph **gp, urc_emit_opts *eo) {
    urc_graph *g = urc_build_graph(o->model, o->opt);
    if (!g || !check_model(g)) return NULL;
    urc_program *P = urc_build_program(g, "seg", o->opt, NULL);
    if (!P) return NULL;
    const char *base = strrchr(o->model, '/');
    *eo = (urc_emit_opts){.prefix = "seg",
                          .source_name = base ? base + 1 : o->model,
                          .command = o->command,
                          .model_hash = g->hash,
                          .opset = g->opset};
    *gp = g;
    return P;
}

static bool build_into(const urc_seg_cache_opts *o, const char *dir, const char *model_sha) {
    urc_diag_reset(o->model);
    urc_graph *g;
    urc_emit_opts eo;
    urc_program *P = compile_model(o, &g, &eo);
    if (!P) return false;
    /* the entry is a shared object the backend builds from its code */
    const urc_backend *be = o->backend ? o->backend : &urc_backend_c;
    const char *code = urc_fmt("%s/seg%s", dir, be->code_suffix);
    urc_emitted e = {0};
    const char *entry = "forward";
    be->emit((const urc_program *const *)&P, &entry, 1, &eo, &e);
    const char *glue = glue_source(), *err = NULL;
    bool ok = urc_write_new_file(code, e.code.data, e.code.len, 0600, &err) &&
              urc_write_new_file(urc_fmt("%s/seg.h", dir), e.header.data, e.header.len, 0600, &err) &&
              urc_write_new_file(urc_fmt("%s/seg.weights", dir), e.weights.data, e.weights.len, 0600, &err) &&
              urc_write_new_file(urc_fmt("%s/glue.c", dir), glue, strlen(glue), 0600, &err);
    urc_emitted_free(&e);
    if (!ok) {
        urc_error(NULL, "%s: %s", dir, err);
        return false;
    }
    const char *srcs[2] = {code, urc_fmt("%s/glue.c", dir)};
    const char *flags = o->cflags ? o->cflags : URC_SEG_DEFAULT_CFLAGS;
    urc_build_opts bo = {.cc = o->cc,
                         .cflags = urc_fmt("%s -shared -fPIC", flags),
                         .log_path = urc_fmt("%s/build.log", dir),
                         .tmpdir = dir};
    if (!be->build(srcs, 2, urc_fmt("%s/seg.so", dir), &bo)) return false;
    char so_sha[65];
    if (!sha_file(urc_fmt("%s/seg.so", dir), so_sha)) {
        urc_error(NULL, "%s/seg.so: cannot be read after the build", dir);
        return false;
    }
    const char *man = manifest_text(model_sha, so_sha, g);
    unlink(urc_fmt("%s/glue.c", dir));
    unlink(bo.log_path);
    if (!urc_write_new_file(urc_fmt("%s/manifest", dir), man, strlen(man), 0600, &err)) {
        urc_error(NULL, "%s/manifest: %s", dir, err);
        return false;
    }
    /* Everything on disk before the entry is renamed into place. */
    const char *files[] = {code, "seg.h", "seg.weights", "seg.so", "manifest"};
    for (size_t i = 0; i < URC_ARRAY_LEN(files); i++) {
        int fd = open(i ? urc_fmt("%s/%s", dir, files[i]) : code, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) fsync(fd), close(fd);
    }
    return true;
}

#ifdef URC_HAVE_LLVM
/* segment --jit: the model's forward compiled by LLVM's ORC JIT into this
 * process; no cache, no C compiler, nothing written. One JIT'd model per
 * process (segment runs one), reached through jit_forward. */
static urc_jit_entry jit_fn;

static int jit_forward(const void *w, void *arena, const float *in, float *out) {
    void *args[4] = {(void *)w, arena, (void *)in, out};
    return jit_fn(args);
}

static bool load_jit(const urc_seg_cache_opts *o, urc_seg_model *m) {
    urc_graph *g;
    urc_emit_opts eo;
    urc_program *P = compile_model(o, &g, &eo);
    if (!P) return false;
    const char *entry = "forward";
    urc_note("segment: compiling %s with LLVM's JIT", o->model);
    urc_jit *j = urc_jit_compile((const urc_program *const *)&P, &entry, 1, &eo);
    jit_fn = j ? urc_jit_lookup(j, entry) : NULL;
    if (!jit_fn) {
        urc_jit_free(j);
        return false;
    }
    /* j stays alive: its code runs until unetrc exits. */
    const urc_io *x = &P->inputs.items[0], *y = &P->outputs.items[0];
    m->rank = x->shape.rank;
    for (int i = 0; i < m->rank; i++) m->in_shape[i] = x->shape.dims[i], m->out_shape[i] = y->shape.dims[i];
    m->arena_bytes = P->arena_bytes;
    m->weights_bytes = P->weights_bytes;
    size_t wb = (size_t)urc_align_up(P->weights_bytes > 0 ? P->weights_bytes : 64, 64);
    void *blob = NULL;
    if (posix_memalign(&blob, 64, wb) != 0) urc_out_of_memory(wb);
    if (P->weights_bytes) memcpy(blob, P->weights, (size_t)P->weights_bytes);
    m->weights_blob = blob;
    m->weights = blob;
    m->forward = jit_forward;
    m->set_threads = urc_jit_threads;
    m->entry = "(--jit: in this process)";
    return true;
}
#endif

bool urc_seg_load(const urc_seg_cache_opts *o, urc_seg_model *m) {
    memset(m, 0, sizeof *m);
#ifdef URC_HAVE_LLVM
    if (o->backend == &urc_backend_llvm_jit) {
        urc_diag_reset(o->model);
        return load_jit(o, m);
    }
#endif
    /* The key: version, model, compiler, flags, CPU. */
    const char *err;
    urc_diag_reset(o->model);
    char model_sha[65], key[65];
    /* Hashed as it is read (a big model is not held in memory for this);
     * the same checks and messages as urc_read_file. */
    int fd = open(o->model, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat mst;
    if (fd < 0) {
        urc_error(NULL, "cannot open file: %s", strerror(errno));
        return false;
    }
    if (fstat(fd, &mst) != 0 || !S_ISREG(mst.st_mode)) {
        close(fd);
        urc_error(NULL, "not a regular file");
        return false;
    }
    if ((uint64_t)mst.st_size > o->opt->import.max_bytes) {
        close(fd);
        urc_error(NULL, "file is %lld bytes, above the limit of %llu bytes (raise it with --max-bytes)",
                  (long long)mst.st_size, (unsigned long long)o->opt->import.max_bytes);
        return false;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    bool hashed = sha_fd(fd, model_sha);
    int e = errno;
    close(fd);
    if (!hashed) {
        urc_error(NULL, "read error: %s", strerror(e));
        return false;
    }
    const char *cc = o->cc ? o->cc : (getenv("CC") && *getenv("CC")) ? getenv("CC") : "cc";
    const urc_options *op = o->opt;
    urc_strbuf prec = {0}; /* --precision and --keep-fp32 (each glob with its length: no separator to forge) */
    urc_sb_printf(&prec, "precision %d head %d exact %d", op->precision ? (int)op->precision : (int)URC_DT_F32,
                  (int)op->reduce_head, op->bf16_exact);
    for (int i = 0; i < op->nkeep_fp32; i++)
        urc_sb_printf(&prec, " keep %zu:%s", strlen(op->keep_fp32[i]), op->keep_fp32[i]);
    if (op->calibrate)
        urc_sb_printf(&prec, " calibrate %s", urc_calibration_key(op->calibrate)); /* (the samples' bytes) */
    urc_sb_putc(&prec, '\n');
    env_key(&prec);
    const char *keytext =
        urc_fmt("unetrc %s\nglue %d\nmodel %s\nbackend %s\ncc %s\ncflags %s\nfold %d O0 %d target %s/%d\ncpu %s\n%s\n",
                URC_VERSION, GLUE_ABI, model_sha, o->backend ? o->backend->name : "c", cc,
                o->cflags ? o->cflags : URC_SEG_DEFAULT_CFLAGS, !op->no_fold, op->no_opt,
                op->target.name ? op->target.name : "host", op->target.vector_bits, cpu_identity(), prec.data);
    urc_sb_free(&prec);
    sha_hex(keytext, strlen(keytext), key);

    const char *root = cache_root(o->cache_dir);
    if (!root) {
        urc_diag_reset(o->model);
        urc_error(NULL, "no cache folder: HOME and XDG_CACHE_HOME are unset (give one with --cache DIR)");
        return false;
    }
    const char *why = check_root(root);
    if (why) {
        urc_diag_reset(root);
        urc_error(NULL, "%s", why);
        return false;
    }
    const char *entry = urc_fmt("%s/%s", root, key);
    struct stat st;
    if (lstat(entry, &st) == 0) {
        why = S_ISDIR(st.st_mode) ? load_entry(entry, model_sha, m) : "not a folder";
        if (!why) {
            m->cached = true;
            urc_note("segment: compiled model from the cache: %s", entry);
            return true;
        }
        urc_note("segment: cache entry %s is unusable (%s): rebuilt", entry, why);
        if (S_ISDIR(st.st_mode)) urc_remove_tree(entry);
        else unlink(entry);
    }
    /* Build in CACHE/KEY.tmp-XXXXXX (removed however we end), then rename. */
    char *dir = urc_scratch_create_in(root, urc_fmt("%s.tmp-", key), &err);
    if (!dir) {
        urc_diag_reset(root);
        urc_error(NULL, "%s", err);
        return false;
    }
    urc_note("segment: compiling %s into %s", o->model, entry);
    if (!build_into(o, dir, model_sha)) {
        urc_scratch_remove(dir);
        return false;
    }
    if (rename(dir, entry) != 0) {
        /* Another unetrc finished the same entry first: use that one. */
        urc_note("segment: %s appeared meanwhile (%s)", entry, strerror(errno));
    }
    urc_scratch_remove(dir); /* nothing left there after the rename */
    why = load_entry(entry, model_sha, m);
    if (why) {
        urc_diag_reset(entry);
        urc_error(NULL, "%s", why);
        return false;
    }
    return true;
}
