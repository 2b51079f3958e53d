/* cli.h: the command line of unetrc (cli.c). One table lists every option
 * once per meaning: its name, the kind of its value, the commands that take
 * it, its help line and where its value goes in urc_cli. One function parses
 * every command's arguments with it, and `unetrc [COMMAND] --help` is
 * printed from it. The commands (main.c, cmd_train.c, cmd_segment.c) read
 * the parsed urc_cli and check what depends on the model.
 *
 * Errors follow one contract: a usage error prints "unetrc: usage error: ...
 * (see unetrc --help)" and exits 2; a failure prints one line "unetrc: error:
 * FILE: ..." and exits 1, removing every temporary output. */
#ifndef URC_CLI_H
#define URC_CLI_H

#include "autodiff/training.h"
#include "base/base.h"
#include "driver.h"

/* The commands, as bits of an option's command set. */
enum {
    URC_CMD_COMPILE = 1 << 0,
    URC_CMD_RUN = 1 << 1,
    URC_CMD_INFO = 1 << 2,
    URC_CMD_BENCH = 1 << 3,
    URC_CMD_TRAINC = 1 << 4, /* MODEL -o OUT.c --train */
    URC_CMD_GRAD = 1 << 5,
    URC_CMD_TRAIN = 1 << 6,
    URC_CMD_SEGMENT = 1 << 7,
};

typedef URC_VEC(const char *) urc_strlist;
typedef URC_VEC(int64_t) urc_i64list;
struct urc_backend;

/* Everything the command line can say, for every command. */
typedef struct urc_cli {
    unsigned cmd;        /* one URC_CMD_* */
    bool cmd_named;      /* argv[1] named it (else compile: `unetrc MODEL --help` is all the help) */
    const char *model;   /* the positional argument */
    const char *command; /* the command line, for provenance */
    /* the backend (--backend; default "c") */
    const char *backend_name;
    const char *triple, *cpu, *features; /* --target, --cpu, --features (machine-code backends) */
    const struct urc_backend *backend;
    bool jit; /* --jit: run, bench, grad, train in this process through LLVM's JIT */
    /* compile, --train */
    const char *out_c, *name;
    bool embed, shared; /* --embed-weights, --shared */
    /* the graph: import options, passes, target (c->opt holds them all) */
    urc_options opt;
    URC_VEC(urc_input_pin) pins;
    URC_VEC(urc_frozen_input) frozen;
    urc_strlist frozen_paths;
    /* run, bench, grad */
    urc_strlist inputs, outputs; /* --input, --output (segment: the last --output) */
    bool interp, allow_nonfinite;
    bool compare;          /* run: --compare (with --precision) */
    urc_strlist keep_fp32; /* --keep-fp32 */
    const char *keep, *cc, *cflags;
    int threads, runs; /* 0: the command's default */
    /* training: --train, grad, train */
    urc_train_opts t;
    urc_strlist trainable, freeze, recompute;
    urc_i64list label_map;
    const char *label, *out; /* grad's --label, --out; train's --out */
    const char *data;
    double steps, every, stop_after, lr, lr_final;
    bool resume;
    /* segment */
    urc_strlist images;
    const char *logits, *probs, *png, *cache;
    double overlap[3], sigma[3];
    int n_overlap, n_sigma; /* values given: 1 (all axes) or one per spatial axis */
    int mode;
    int normalize; /* NormalizeIntensity(nonzero=True, channel_wise=True) */
    bool scale;    /* ScaleIntensityRange */
    double scale_v[4];
    bool clip;
    int64_t labels[256];
    int n_labels;
    bool threshold;
    double threshold_v;
    int flip[3], n_flip;
    int slices, slice_axis; /* 2.5D: K neighbouring slices along a volume axis (0: off) */
    bool slice_axis_given;
    bool quiet;
} urc_cli;

/* Parses argv (as given to main) into c: the command (argv[1] when it is
 * one, else compile, or --train when that flag is given), the options the
 * command takes, the model. Refuses as usage errors: an option the command
 * does not take ("unknown option"), a bad value, no model. Reads the
 * --freeze-input files and finds the backend. Handles --help and --version
 * (prints, exits 0). */
void urc_cli_parse(urc_cli *c, int argc, char **argv);

/* Prints the help of one command (URC_CMD_*), or of all for 0, to stdout and
 * exits 0. */
_Noreturn void urc_cli_help(unsigned cmd);

_Noreturn void urc_cli_usage_error(const char *fmt, ...) URC_PRINTF(1, 2);
/* A failure for FILE with `msg`, or the recorded diagnostics when msg is
 * NULL (one line, control characters made spaces; temporary outputs
 * removed; exit 1). */
_Noreturn void urc_cli_fail(const char *file, const char *msg);

/* The output files of one command and the files it reads. Each has a
 * description for messages: outputs "--output 'y.npy'", inputs "the model".
 * Refused as usage errors: two outputs naming one file (however spelled), an
 * output that would replace an input (paths.h), and an output name that,
 * with the temporary file's suffix, exceeds the folder's limit (checked up
 * front rather than failing when the temporary file is made). */
typedef struct urc_cli_file {
    const char *path, *what;
} urc_cli_file;
void urc_cli_check_outputs(const urc_cli_file *outs, int nout, const urc_cli_file *ins, int nin);
/* urc_cli_check_outputs against the external data files g's import read. */
void urc_cli_check_external(const urc_graph *g, const urc_cli_file *outs, int nout);
/* The files a compiling command reads: the model, --input and --freeze-input
 * files; returns how many (ins holds 1 + inputs + frozen_paths). */
int urc_cli_input_files(const urc_cli *c, urc_cli_file *ins);

/* compile and --train: checks -o (a .c file), the symbol prefix (--name, or
 * the output's stem made an identifier: "9x.c" -> m_9x; it must be a C
 * identifier) and that the outputs OUT.c, OUT.h and (unless embedded)
 * OUT.weights neither collide nor replace an input. Returns the prefix;
 * outs gets the outputs, *nout how many. */
const char *urc_cli_compile_prefix(const urc_cli *c, urc_cli_file outs[3], int *nout);

/* compile and --train: emits the entry points (progs[i] as
 * PREFIX_entries[i]) through c's backend and writes OUT.c, OUT.h and (unless
 * --embed-weights) OUT.weights as one set (the weights first, the code
 * last). `command` is the provenance comment's. */
void urc_cli_write_code(const urc_cli *c, const urc_program *const *progs, const char *const *entries, int n,
                        const char *prefix, const urc_graph *g, const char *command);

/* One set of output files written all or nothing: each file's data goes
 * to its temporary file (closed once written: a set may hold more files
 * than a process may keep open), then urc_outfile_commit_all renames them
 * all, in order. Fails (urc_cli_fail) naming the file on any error. */
typedef struct urc_cli_outset {
    URC_VEC(urc_outfile *) f;
    urc_strlist path;
} urc_cli_outset;
/* Opens PATH's temporary file now (a missing folder fails before the work)
 * and adds it to the set. */
urc_outfile *urc_cli_out_open(urc_cli_outset *s, const char *path);
/* urc_cli_out_open, writes data and closes the temporary file. */
void urc_cli_out_add(urc_cli_outset *s, const char *path, const void *data, size_t n);
void urc_cli_out_commit(urc_cli_outset *s);

/* The base name of a path ("a/b.c" -> "b.c"). */
const char *urc_cli_base_name(const char *path);
/* Whether s ends in suffix, in any case (".nii.gz"). */
bool urc_cli_has_suffix(const char *s, const char *suffix);

#endif
