/* diag.c: collects user-facing problems; see diag.h. */
#include "diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Past this many problems the rest are counted, not listed. */
#define MAX_LISTED 64

static const char *diag_file = "";
static URC_VEC(char *) msgs;
static int nerrors, ninternal;
static urc_strbuf joined;
int urc_verbose;

void urc_diag_reset(const char *file) {
    diag_file = file ? file : "";
    for (int i = 0; i < msgs.len; i++) free(msgs.items[i]);
    msgs.len = 0;
    nerrors = 0;
    ninternal = 0;
}

const char *urc_diag_file(void) { return diag_file; }

void urc_diag_release(void) {
    urc_diag_reset(NULL);
    free(msgs.items);
    msgs.items = NULL;
    msgs.cap = 0;
    urc_sb_free(&joined);
}

/* In sanitizer builds every program linking the compiler tracks its heap
 * from the start and frees it at exit (base.h), so LeakSanitizer reports
 * only blocks that escaped urc_xmalloc & co., i.e. real leaks. Registered
 * before main, this atexit handler runs after the program's own. */
static void release_at_exit(void) {
    urc_diag_release();
    urc_heap_release();
}

__attribute__((constructor)) static void track_from_start(void) {
    if (urc_heap_track_begin()) atexit(release_at_exit);
}

void urc_verror(const char *where, const char *fmt, va_list ap) {
    nerrors++;
    /* Decided on the format literal, never on the formatted text, which
     * holds names from the file. */
    if (!strncmp(fmt, "internal:", 9)) ninternal++;
    if (msgs.len >= MAX_LISTED) return;
    urc_strbuf sb = {0};
    if (where && *where) urc_sb_printf(&sb, "%s: ", where);
    urc_sb_vprintf(&sb, fmt, ap);
    /* One line: newlines (or terminal escapes) in names or messages must
     * not break it. */
    for (size_t i = 0; i < sb.len; i++)
        if ((unsigned char)sb.data[i] < 0x20 || sb.data[i] == 0x7f) sb.data[i] = ' ';
    for (int i = 0; i < msgs.len; i++)
        if (!strcmp(msgs.items[i], sb.data)) { /* same problem twice */
            urc_sb_free(&sb);
            nerrors--;
            return;
        }
    URC_VEC_PUSH(msgs, sb.data);
}

void urc_error(const char *where, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    urc_verror(where, fmt, ap);
    va_end(ap);
}

int urc_error_count(void) { return nerrors; }

int urc_internal_error_count(void) { return ninternal; }

const char *urc_diag_message(void) {
    if (!nerrors) return NULL;
    joined.len = 0;
    urc_sb_puts(&joined, "");
    for (int i = 0; i < msgs.len; i++) {
        if (i) urc_sb_puts(&joined, "; ");
        urc_sb_puts(&joined, msgs.items[i]);
    }
    if (nerrors > msgs.len) urc_sb_printf(&joined, "; and %d more problems", nerrors - msgs.len);
    return joined.data;
}

const char *urc_diag_one_line(const char *s) {
    char *r = urc_strdup(s ? s : "");
    for (char *p = r; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    return r;
}

void urc_diag_print(void) {
    const char *m = urc_diag_message();
    if (!m) return;
    if (*diag_file) fprintf(stderr, "unetrc: error: %s: %s\n", urc_diag_one_line(diag_file), m);
    else fprintf(stderr, "unetrc: error: %s\n", m);
}

void urc_note(const char *fmt, ...) {
    if (!urc_verbose) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("unetrc: note: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
