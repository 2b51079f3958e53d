/* run_c.c: build-and-run of generated code (see run_c.h). */
#define _GNU_SOURCE
#include "run_c.h"
#include "emit_c.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../base/diag.h"
#include "../../base/proc.h"
#include "../cpu_check.h"

typedef urc_argv strvec;

static int64_t io_bytes(const urc_io *io) { return urc_shape_numel(&io->shape) * urc_dtype_size(io->dt); }

/* A main() that loads the weights blob and raw inputs, calls the forward
 * function and writes raw outputs. */
static const char *harness_source(const urc_program *P) {
    const char *name = P->name;
    urc_strbuf sb = {0};
    urc_sb_printf(
        &sb,
        "/* Harness written by unetrc: loads the weights blob and raw inputs,\n"
        " * calls %s_forward, writes raw outputs. */\n"
        "#define _POSIX_C_SOURCE 200112L\n"
        "#include <errno.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <time.h>\n"
        "#include \"%s.h\"\n\n"
        "/* built for baseline x86-64, whatever --cflags target: the forward then says what this CPU lacks */\n"
        "#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))\n#define HB " URC_CPU_BASELINE_ATTR
        "\n#else\n#define HB\n#endif\n\n",
        name, name);
    urc_sb_puts(&sb,
                /* Exact sizes (posix_memalign takes any), so that built with
                 * -fsanitize=address any read past a buffer is reported. */
                "HB static void *buffer(size_t n) {\n"
                "    void *p = NULL;\n"
                "    if (posix_memalign(&p, 64, n ? n : 1) != 0) {\n"
                "        fprintf(stderr, \"harness: out of memory\\n\");\n        exit(3);\n    }\n"
                "    return p;\n}\n\n"
                "HB static void *load(const char *path, size_t n) {\n"
                "    void *p = buffer(n);\n"
                "    FILE *f = fopen(path, \"rb\");\n"
                "    if (!f || fread(p, 1, n, f) != n || fgetc(f) != EOF) {\n"
                "        fprintf(stderr, \"harness: cannot read %s\\n\", path);\n        exit(3);\n    }\n"
                "    fclose(f);\n    return p;\n}\n\n"
                /* remove first: nothing planted at the name (a FIFO in a
                 * --keep folder) is opened */
                "HB static void save(const char *path, const void *p, size_t n) {\n"
                "    remove(path);\n"
                "    FILE *f = fopen(path, \"wb\");\n"
                "    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) { /* errno: why (a full disk) */\n"
                "        fprintf(stderr, \"harness: cannot write %s: %s\\n\", path, strerror(errno));\n        "
                "exit(3);\n    }\n}\n\n");
    urc_sb_puts(&sb, "HB int main(int argc, char **argv) {\n");
    int nargs = 2 + P->inputs.len + P->outputs.len;
    urc_sb_printf(&sb,
                  "    if (argc != %d && argc != %d) {\n        fprintf(stderr, \"harness: wrong arguments\\n\");\n"
                  "        return 3;\n    }\n",
                  nargs, nargs + 1);
    urc_sb_printf(&sb, "    int runs = argc == %d ? atoi(argv[%d]) : 0; /* bench: timed forwards after a warm-up */\n",
                  nargs + 1, nargs);
    urc_sb_printf(&sb, "    unsigned char *blob = load(argv[1], (size_t)%lld + 64);\n", (long long)P->weights_bytes);
    urc_sb_printf(&sb, "    void *arena = buffer((size_t)%lld);\n",
                  (long long)urc_align_up(P->arena_bytes ? P->arena_bytes : 64, 64));
    urc_sb_printf(&sb, "    memset(arena, 0xA5, (size_t)%lld); /* garbage: nothing may rely on zeroed scratch */\n",
                  (long long)urc_align_up(P->arena_bytes ? P->arena_bytes : 64, 64));
    for (int i = 0; i < P->inputs.len; i++)
        urc_sb_printf(&sb, "    void *in%d = load(argv[%d], (size_t)%lld);\n", i, 2 + i,
                      (long long)io_bytes(&P->inputs.items[i]));
    for (int i = 0; i < P->outputs.len; i++) {
        int64_t b = io_bytes(&P->outputs.items[i]);
        urc_sb_printf(&sb, "    void *out%d = buffer((size_t)%lld);\n", i, (long long)b);
    }
    urc_strbuf call = {0};
    urc_sb_printf(&call, "%s_forward(blob + 64, arena", name);
    for (int i = 0; i < P->inputs.len; i++) urc_sb_printf(&call, ", in%d", i);
    for (int i = 0; i < P->outputs.len; i++) urc_sb_printf(&call, ", out%d", i);
    urc_sb_putc(&call, ')');
    urc_sb_printf(&sb, "    int rc = %s;\n", call.data);
    /* exit status 5: an index read at run time is out of range (urc_c_run says so) */
    urc_sb_printf(&sb, "    if (rc == %s_ERR_INDEX) return 5;\n", urc_abi_macro_prefix(name));
    /* exit status 6: built for an extension this CPU lacks, named on stderr's first line */
    urc_sb_printf(&sb,
                  "    if (rc == %s_ERR_CPU) {\n        fprintf(stderr, \"%%s\\n\", %s_cpu_missing());\n        return "
                  "6;\n    }\n",
                  urc_abi_macro_prefix(name), name);
    urc_sb_puts(&sb, "    if (rc != 0) {\n        fprintf(stderr, \"harness: forward returned %d\\n\", rc);\n        "
                     "return 4;\n    }\n");
    urc_sb_printf(&sb,
                  "    for (int r = 0; r < runs; r++) {\n"
                  "        struct timespec t0, t1;\n"
                  "        clock_gettime(CLOCK_MONOTONIC, &t0);\n"
                  "        rc |= %s;\n"
                  "        clock_gettime(CLOCK_MONOTONIC, &t1);\n"
                  "        printf(\"time_ms %%.6f\\n\", (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - "
                  "t0.tv_nsec) / 1e6);\n"
                  "    }\n",
                  call.data);
    urc_sb_free(&call);
    for (int i = 0; i < P->outputs.len; i++)
        urc_sb_printf(&sb, "    save(argv[%d], out%d, (size_t)%lld);\n", 2 + P->inputs.len + i, i,
                      (long long)io_bytes(&P->outputs.items[i]));
    urc_sb_puts(&sb, "    free(blob);\n    free(arena);\n");
    for (int i = 0; i < P->inputs.len; i++) urc_sb_printf(&sb, "    free(in%d);\n", i);
    for (int i = 0; i < P->outputs.len; i++) urc_sb_printf(&sb, "    free(out%d);\n", i);
    urc_sb_puts(&sb, "    return 0;\n}\n");
    const char *r = urc_strdup(sb.data);
    urc_sb_free(&sb);
    return r;
}

/* Files of the scratch folder are private (0600: the input volumes may be
 * patient data); those of a --keep folder get the usual 0666 & ~umask. */
static bool write_plain(const char *path, const void *data, size_t n, bool scratch) {
    const char *err;
    if (urc_write_new_file(path, data, n, scratch ? 0600 : 0666, &err)) return true;
    urc_error(NULL, "%s: %s", path, err);
    return false;
}

static const char *compiler_of(const char *cc) {
    return cc ? cc : (getenv("CC") && *getenv("CC")) ? getenv("CC") : "cc";
}

/* cc cflags SOURCES... -o exe -lm: the exit status, -1 when cc cannot run. */
static int build(const char *const *sources, int n, const char *exe, const urc_build_opts *o) {
    const char *cc = compiler_of(o->cc);
    strvec argv = {0};
    urc_split_words(cc, &argv);
    urc_split_words(o->cflags ? o->cflags : urc_default_cflags(), &argv);
    for (int i = 0; i < n; i++) URC_VEC_PUSH(argv, (char *)sources[i]);
    URC_VEC_PUSH(argv, "-o");
    URC_VEC_PUSH(argv, (char *)exe);
    URC_VEC_PUSH(argv, "-lm");
    URC_VEC_PUSH(argv, NULL);
    urc_child_opts co = {.log_path = o->log_path, .tmpdir = o->tmpdir};
    int rc = urc_run_child(argv.items, &co);
    free(argv.items);
    return rc;
}

bool urc_c_build(const char *const *sources, int n, const char *exe, const urc_build_opts *o) {
    int rc = build(sources, n, exe, o);
    const char *cc = compiler_of(o->cc);
    if (rc < 0) urc_error(NULL, "cannot run the C compiler '%s': %s", cc, strerror(errno));
    if (rc <= 0) return rc == 0;
    size_t len;
    const char *err, *first = "";
    char *text = urc_read_file(o->log_path, &len, 1 << 20, &err);
    int why = rc == 127 ? urc_child_exec_errno(text) : 0;
    if (why) { /* the compiler did not start */
        urc_error(NULL, "cannot run the C compiler '%s': %s", cc, strerror(why));
        free(text);
        return false;
    }
    if (text) { /* the first line naming an error, else the first line */
        char *e = strstr(text, "error");
        if (!e) e = text;
        e[strcspn(e, "\n")] = 0;
        first = urc_strdup(e);
        free(text);
    }
    urc_error(NULL, "the generated C failed to build with '%s' (exit %d)%s%s", cc, rc, *first ? ": " : "", first);
    return false;
}

/* Runs the built harness on the inputs in dir (in%d.bin) once, or timed (o->bench_runs); false after reporting. */
static bool run_exe(const urc_program *P, const char *dir, const char *exe, const urc_run_opts *o) {
    const char *name = P->name;
    strvec argv = {0};
    URC_VEC_PUSH(argv, (char *)exe);
    URC_VEC_PUSH(argv, urc_fmt("%s/%s.weights", dir, name));
    for (int i = 0; i < P->inputs.len; i++) URC_VEC_PUSH(argv, urc_fmt("%s/in%d.bin", dir, i));
    for (int i = 0; i < P->outputs.len; i++) URC_VEC_PUSH(argv, urc_fmt("%s/out%d.bin", dir, i));
    if (o->bench_runs > 0) URC_VEC_PUSH(argv, urc_fmt("%d", o->bench_runs));
    URC_VEC_PUSH(argv, NULL);
    const char *log = urc_fmt("%s/run.log", dir);
    if (o->threads > 0) setenv("OMP_NUM_THREADS", urc_fmt("%d", o->threads), 1);
    urc_child_opts co = {.log_path = log};
    int rc = urc_run_child(argv.items, &co);
    free(argv.items);
    if (rc < 0) {
        urc_error(NULL, "cannot run the generated program: %s", strerror(errno));
        return false;
    }
    if (rc == 5) {
        urc_error(NULL,
                  "the generated code's forward returned %s_ERR_INDEX: an index read at run time is out of "
                  "range (run with --interp to see which node and index)",
                  urc_abi_macro_prefix(name));
        return false;
    }
    if (rc != 0) {
        size_t n;
        const char *err;
        char *text = urc_read_file(log, &n, 1 << 20, &err);
        if (text) text[strcspn(text, "\n")] = 0;
        if (rc == 6) urc_error(NULL, "%s", urc_cpu_message(urc_abi_macro_prefix(name), text && *text ? text : NULL));
        else
            urc_error(NULL, "the generated program failed (exit status %d)%s%s", rc, text && *text ? ": " : "",
                      text ? text : "");
        free(text);
        return false;
    }
    if (o->bench_runs > 0) {
        size_t n;
        const char *err;
        char *text = urc_read_file(log, &n, 1 << 20, &err);
        int got = 0;
        for (char *p = text; p && (p = strstr(p, "time_ms ")); p += 8)
            if (got < o->bench_runs) o->times_ms[got++] = strtod(p + 8, NULL);
        free(text);
        if (got != o->bench_runs) {
            urc_error(NULL, "the benchmark printed %d of %d times", got, o->bench_runs);
            return false;
        }
    }
    return true;
}

/* The outputs the harness wrote into dir (out%d.bin) as new tensors; false after reporting. */
static bool read_outputs(const urc_program *P, const char *dir, urc_tensor **outs) {
    bool ok = true;
    for (int i = 0; ok && i < P->outputs.len; i++) {
        const urc_io *io = &P->outputs.items[i];
        outs[i] = urc_tensor_new(io->dt, &io->shape);
        size_t n;
        const char *err;
        void *data = urc_read_file(urc_fmt("%s/out%d.bin", dir, i), &n, (size_t)-1, &err);
        if (!data || n != urc_tensor_bytes(outs[i])) {
            urc_error(NULL, "the generated program wrote output %d with the wrong size", i);
            ok = false;
        } else {
            memcpy(outs[i]->data, data, n);
        }
        free(data);
    }
    return ok;
}

bool urc_c_run(const urc_program *P, urc_tensor *const *ins, urc_tensor **outs, const urc_run_opts *o) {
    return urc_run_generated(&urc_backend_c, P, ins, outs, o);
}

bool urc_run_generated(const urc_backend *be, const urc_program *P, urc_tensor *const *ins, urc_tensor **outs,
                       const urc_run_opts *o) {
    char *scratch = NULL;
    const char *dir;
    if (o->keep_dir) {
        const char *err = urc_keep_dir_prepare(o->keep_dir);
        if (err) {
            urc_error(NULL, "%s: %s", o->keep_dir, err);
            return false;
        }
        dir = o->keep_dir;
    } else {
        /* $TMPDIR/unetrc-run-XXXXXX, removed on every way out (proc.h) */
        const char *err;
        if (!(scratch = urc_scratch_create("unetrc-run-", &err))) {
            urc_error(NULL, "%s", err);
            return false;
        }
        dir = scratch;
    }
    bool priv = scratch != NULL;
    const char *name = P->name;
    urc_emit_opts eo = {.prefix = name,
                        .source_name = o->model_name ? o->model_name : "model",
                        .command = o->command,
                        .model_hash = o->model_hash,
                        .opset = o->opset};
    urc_emitted e = {0};
    const char *entry = "forward";
    const char *code = urc_fmt("%s/%s%s", dir, name, be->code_suffix);
    bool ok = be->emit(&P, &entry, 1, &eo, &e);
    const char *h = harness_source(P);
    ok = ok && write_plain(code, e.code.data, e.code.len, priv) &&
         write_plain(urc_fmt("%s/%s.h", dir, name), e.header.data, e.header.len, priv) &&
         write_plain(urc_fmt("%s/%s.weights", dir, name), e.weights.data, e.weights.len, priv) &&
         write_plain(urc_fmt("%s/harness.c", dir), h, strlen(h), priv);
    urc_emitted_free(&e);
    const char *exe = urc_fmt("%s/%s_run", dir, name);
    if (ok) {
        const char *srcs[2] = {code, urc_fmt("%s/harness.c", dir)};
        const char *log = urc_fmt("%s/build.log", dir);
        /* The compiler's own temporaries go into the scratch folder too, so
         * that they cannot outlive it. */
        urc_build_opts bo = {.cc = o->cc, .cflags = o->cflags, .log_path = log, .tmpdir = scratch};
        ok = be->build(srcs, 2, exe, &bo);
    }
    int sets = o->sets > 1 ? o->sets : 1, nin = P->inputs.len, nout = P->outputs.len;
    URC_ASSERT(sets == 1 || o->bench_runs <= 0, "run: several input sets are not timed");
    for (int s = 0; ok && s < sets; s++) {
        for (int i = 0; ok && i < nin; i++)
            ok = write_plain(urc_fmt("%s/in%d.bin", dir, i), ins[s * nin + i]->data, urc_tensor_bytes(ins[s * nin + i]),
                             priv);
        ok = ok && run_exe(P, dir, exe, o) && read_outputs(P, dir, outs + s * nout);
    }
    if (scratch) urc_scratch_remove(scratch);
    return ok;
}
