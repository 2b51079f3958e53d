/* cli_help.c: the help texts of the command line (`unetrc --help`, and
 * `unetrc COMMAND --help` for one command). One table lists every option
 * once with the commands that take it; docs/cli.md and docs/training.md
 * describe the same options (tests/cli_tests.sh checks that every option
 * the parsers accept is listed here and documented there). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_train.h"

enum {
    COMPILE = 1 << 0,
    RUN = 1 << 1,
    INFO = 1 << 2,
    BENCH = 1 << 3,
    TRAINC = 1 << 4, /* MODEL -o OUT.c --train */
    GRAD = 1 << 5,
    TRAIN = 1 << 6,
    SEGMENT = 1 << 7,
    ALL = (1 << 8) - 1,
    PLAIN = COMPILE | RUN | INFO | BENCH,
    LEARN = TRAINC | GRAD | TRAIN,
};

static const struct {
    unsigned cmd;
    const char *name, *usage;
} commands[] = {
    {COMPILE, "compile", "unetrc MODEL.onnx -o OUT.c [options]           compile to OUT.c, OUT.h, OUT.weights"},
    {RUN, "run", "unetrc run MODEL.onnx --input X.npy... --output Y.npy... [--interp] [options]"},
    {INFO, "info", "unetrc info MODEL.onnx [options]"},
    {BENCH, "bench", "unetrc bench MODEL.onnx [--threads N] [--runs N] [--input X.npy...] [options]"},
    {TRAINC, "--train", "unetrc MODEL.onnx -o OUT.c --train [options]   also OUT_train_step (training)"},
    {GRAD, "grad", "unetrc grad MODEL.onnx --input X.npy --label L.npy --out DIR [options]"},
    {TRAIN, "train", "unetrc train MODEL.onnx --data DIR [--steps N] [--lr X] ... [options]"},
    {SEGMENT, "segment", "unetrc segment MODEL.onnx --image FILE [--image FILE...] --output LABELS.nii.gz [options]"},
};

/* Option lines in the order shown; a line with cmd 0 is a section title
 * of `unetrc --help`. */
static const struct {
    unsigned cmd;
    const char *text;
} lines[] = {
    {0, "options of compile (also with --train):"},
    {COMPILE | TRAINC, "  -o FILE.c              output C file (header and weights next to it)"},
    {COMPILE | TRAINC, "  --name NAME            symbol prefix (default: the output file's base name)"},
    {COMPILE | TRAINC, "  --embed-weights        put the weights in the C file instead of NAME.weights"},
    {0, "options of compile, run, info and bench:"},
    {PLAIN | LEARN, "  --input-shape N=D,...  pin the shape of input N (symbolic dimensions)"},
    {PLAIN, "  --freeze-input N=F.npy replace input N by the constant in F.npy (e.g. a shape)"},
    {PLAIN, "  --max-bytes N          largest model, tensor or .npy accepted (default 4294967296)"},
    {PLAIN, "  --no-fold              do not fold constants (debugging)"},
    {PLAIN, "  -O0                    no fusion or layout passes: plain kernels per ONNX node"},
    {PLAIN, "  --target-cpu CPU       tune tiles for CPU: host (default), generic, x86-64-v3, x86-64-v4,"},
    {PLAIN, "                         sapphirerapids, znver4, armv8-a, cortex-a72, neoverse-n1, apple-m1, ..."},
    {PLAIN, "  --vector-bits N        vector width the tiles assume: 128, 256 or 512 (default: the CPU's)"},
    {0, "options of run:"},
    {RUN, "  --output Y.npy         where to write an output (one per model output, in order)"},
    {RUN, "  --interp               use the reference interpreter instead of generated C"},
    {0, "options of run and bench:"},
    {RUN | BENCH, "  --input X.npy          an input volume (one per model input, in order; bench: optional)"},
    {RUN | BENCH, "  --allow-nonfinite      accept NaN/Inf in .npy inputs"},
    {RUN | BENCH, "  --keep DIR             keep the generated files and binary in DIR"},
    {0, "options of bench:"},
    {BENCH, "  --threads N            OpenMP threads (default 2)"},
    {BENCH, "  --runs N               timed forwards after one warm-up (default 10)"},
    {0, "training options (--train, grad, train; see docs/training.md):"},
    {LEARN, "  --trainable GLOB       train the float initializers whose name matches (repeatable; default all)"},
    {LEARN, "  --freeze GLOB          keep those matching GLOB fixed (repeatable)"},
    {LEARN, "  --recompute GLOB       recompute the activations of matching forward nodes in the backward"},
    {LEARN, "                         pass instead of keeping them (repeatable; saves training memory)"},
    {LEARN, "  --loss dicece|dice|ce  MONAI's DiceCELoss (default), DiceLoss or cross-entropy"},
    {LEARN, "  --squared              Dice with squared denominators (MONAI squared_pred)"},
    {LEARN, "  --exclude-background   Dice without class 0 (MONAI include_background=False)"},
    {LEARN, "  --batch-dice           Dice over the whole batch (MONAI batch=True)"},
    {LEARN, "  --smooth-nr X, --smooth-dr X   Dice smoothing terms (default 1e-05 each)"},
    {LEARN, "  --lambda-dice X, --lambda-ce X weights of the two terms (default 1 each)"},
    {LEARN, "  --class-weights W0,W1,...      per-class weights (both terms)"},
    {LEARN, "  --label-map V0,V1,...  label value Vi is class i (e.g. 0,1,2,4 for BraTS); other values are errors"},
    {TRAINC | TRAIN, "  --optimizer adamw|sgd  the update (default adamw)"},
    {TRAINC | TRAIN, "  --beta1 B, --beta2 B, --eps E  AdamW (default 0.9, 0.999, 1e-08)"},
    {TRAINC | TRAIN, "  --weight-decay W       decoupled (AdamW) or L2 (SGD) weight decay (default 0.01)"},
    {TRAINC | TRAIN, "  --momentum M           SGD momentum (default 0)"},
    {TRAINC | TRAIN, "  --label-type T         the label's element type: uint8, int32 or int64 (default int64)"},
    {0, "options of grad:"},
    {GRAD, "  --input X.npy          the input volume"},
    {GRAD, "  --label L.npy          its integer class map, [N, 1, S...] or [N, S...]"},
    {GRAD, "  --out DIR              write DIR/<initializer>.npy, the gradient of each trainable parameter"},
    {GRAD, "  --interp               use the reference interpreter instead of generated C"},
    {0, "options of train:"},
    {TRAIN, "  --data DIR             the samples: DIR/NAME_image.npy with DIR/NAME_label.npy"},
    {TRAIN, "  --out DIR              build folder and OUT/checkpoint.bin (default unetrc-train)"},
    {TRAIN, "  --steps N              training steps (default 100)"},
    {TRAIN, "  --lr X, --lr-final X   learning rate, cosine decay to lr-final (default 0.001, lr-final = lr)"},
    {TRAIN, "  --checkpoint-every K   also checkpoint every K steps (default: only at the end)"},
    {TRAIN, "  --resume               continue from OUT/checkpoint.bin"},
    {TRAIN, "  --stop-after N         stop (with a checkpoint) after N steps of this run"},
    {TRAIN, "  --threads N            OpenMP threads (default: OpenMP's)"},
    {0, "options of segment (whole scans; see docs/segment.md):"},
    {SEGMENT, "  --image FILE           a scan: .nii, .nii.gz or .npy; several files are the channels, in order"},
    {SEGMENT, "  --output FILE          the label map (.nii, .nii.gz: uint8 on the scan's grid; or .npy)"},
    {SEGMENT, "  --logits FILE          also the blended logits (float32, 4D X,Y,Z,C; or .npy [C,D,H,W])"},
    {SEGMENT, "  --probabilities FILE   also the softmax (or with --sigmoid-threshold the sigmoid) of the logits"},
    {SEGMENT, "  --overlap X            window overlap in [0, 1), or one per spatial axis X,Y,Z (default 0.25)"},
    {SEGMENT, "  --mode constant|gaussian  blending of overlapping windows (default constant)"},
    {SEGMENT, "  --sigma-scale X        gaussian sigma over the window size, or one per axis (default 0.125)"},
    {SEGMENT, "  --normalize none|nonzero  NormalizeIntensity(nonzero=True, channel_wise=True) (default none)"},
    {SEGMENT, "  --scale-range A_MIN,A_MAX,B_MIN,B_MAX[,clip]  ScaleIntensityRange first (CT windowing)"},
    {SEGMENT, "  --labels L0,L1,...     class i is written as label Li (0..255; e.g. 0,1,2,4 for BraTS)"},
    {SEGMENT, "  --sigmoid-threshold T  multi-label: sigmoid >= T per channel (the output gets one channel each)"},
    {SEGMENT, "  --flip-tta AXES        mean over the flips of these spatial axes, e.g. 0,1,2 (default none)"},
    {SEGMENT, "  --slices K             2.5D: a 2D model over every slice of a volume, the K neighbouring slices"},
    {SEGMENT, "                         (K odd; replicated at the edges) as channels, K per image channel"},
    {SEGMENT, "  --slice-axis A         the volume axis slices are taken along: 0, 1 or 2 (default 2)"},
    {SEGMENT, "  --threads N            OpenMP threads of the model (default: OpenMP's)"},
    {SEGMENT, "  --png FILE.png         also an overview picture: three slices with the labels over the scan"},
    {SEGMENT, "  --quiet                no progress or summary line on stderr"},
    {SEGMENT, "  --cache DIR            build cache (default $XDG_CACHE_HOME/unetrc, else ~/.cache/unetrc)"},
    {SEGMENT, "  --max-bytes N          largest model or image file accepted (default 4294967296)"},
    {0, "common options:"},
    {RUN | BENCH | GRAD | TRAIN | SEGMENT,
     "  --cc CC                C compiler for the generated code (default $CC, else cc)"},
    {RUN | BENCH | GRAD | TRAIN | SEGMENT,
     "  --cflags FLAGS         its flags (run, grad: \"-std=c11 -O2 -fopenmp\"; bench, train, segment:"},
    {RUN | BENCH | GRAD | TRAIN | SEGMENT,
     "                         \"-std=c11 -O3 -march=native -mprefer-vector-width=512 -fopenmp\")"},
    {ALL, "  --weights W.safetensors   MODEL.json (a MONAI config): its state_dict (docs/cli.md)"},
    {ALL & ~SEGMENT, "  --dump-ir              print the IR after the graph passes"},
    {ALL & ~SEGMENT, "  --dump-loops           print the loop IR (kernels and calls) after lowering"},
    {ALL & ~SEGMENT,
     "  --dump-after PASS      print the IR after PASS (import, order, infer, dce, einsum, acts, norms,"},
    {ALL & ~SEGMENT, "                         train, fuse, attention, layout, fusenorm, fuseconv, convweights,"},
    {ALL & ~SEGMENT, "                         reinfer, cleanup)"},
    {ALL, "  -v, --verbose          notes on stderr"},
    {ALL, "  -h, --help             this text (unetrc COMMAND --help: the options of one command)"},
    {ALL, "  --version              the version"},
};

_Noreturn void urc_cli_help(const char *cmd) {
    unsigned which = 0;
    for (size_t i = 0; cmd && i < URC_ARRAY_LEN(commands); i++)
        if (!strcmp(cmd, commands[i].name)) which = commands[i].cmd;
    if (!which) { /* everything, with section titles */
        for (size_t i = 0; i < URC_ARRAY_LEN(commands); i++)
            printf("%s %s\n", i ? "      " : "usage:", commands[i].usage);
        for (size_t i = 0; i < URC_ARRAY_LEN(lines); i++) printf("%s\n", lines[i].text);
    } else {
        for (size_t i = 0; i < URC_ARRAY_LEN(commands); i++)
            if (commands[i].cmd == which) printf("usage: %s\noptions:\n", commands[i].usage);
        for (size_t i = 0; i < URC_ARRAY_LEN(lines); i++)
            if (lines[i].cmd & which) printf("%s\n", lines[i].text);
    }
    exit(0);
}
