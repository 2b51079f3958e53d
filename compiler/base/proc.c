/* proc.c: child processes, scratch folders and cleanup (see proc.h). */
#define _GNU_SOURCE
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "diag.h"

/* The signals whose default action ends the process and that the handler
 * turns into "clean up, then die of the signal". */
static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGALRM, SIGXCPU};

static pid_t owner;                  /* the process things are registered for */
static volatile pid_t running_child; /* its process group id; 0: none */
static pid_t guard_pid;
static int guard_fd = -1;
static URC_VEC(char *) scratch; /* scratch folders not yet removed */
static bool installed[NSIG];    /* signals whose handler we installed */

static void take_ownership(void) {
    if (owner == getpid()) return;
    owner = getpid();
    running_child = 0;
    guard_pid = 0;
    guard_fd = -1;
    scratch.len = 0;
    atexit(urc_cleanup_all);
}

static void handled_set(sigset_t *s) {
    sigemptyset(s);
    for (size_t i = 0; i < URC_ARRAY_LEN(fatal_signals); i++) sigaddset(s, fatal_signals[i]);
    sigaddset(s, SIGTSTP);
}

void urc_signals_block(sigset_t *old) {
    sigset_t s;
    handled_set(&s);
    sigprocmask(SIG_BLOCK, &s, old);
}

void urc_signals_restore(const sigset_t *old) { sigprocmask(SIG_SETMASK, old, NULL); }

/* ---- the guard -------------------------------------------------------------
 * A process forked on first need, connected by a SOCK_SEQPACKET socket pair
 * (one message per send, no SIGPIPE with MSG_NOSIGNAL). Messages:
 *   'G' pid [path]  a child's process group; path: its PATH.tmpPID.N files
 *   'r' pid         the child was reaped (do not signal it), still remove its files
 *   'g' pid         the child ended and was cleaned up: forget it
 *   'D' path        a scratch folder;  'd' path: removed, forget it
 * When the socket closes (this process ended, however) the guard undoes
 * what is not forgotten. */
typedef struct gmsg {
    char op;
    long pid;
    char path[PIPE_BUF];
} gmsg;

/* Async-signal-safe. */
static void guard_send(char op, long pid, const char *path) {
    if (guard_fd < 0) return;
    gmsg m;
    size_t len = path ? strlen(path) + 1 : 0;
    if (len > sizeof m.path) return; /* cannot happen for paths the system accepts */
    m.op = op;
    m.pid = pid;
    if (len) memcpy(m.path, path, len);
    while (send(guard_fd, &m, offsetof(gmsg, path) + len, MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
}

typedef struct gentry {
    char op; /* 'G' or 'D' */
    long pid;
    char *path;
    bool reaped, done;
} gentry;

static bool group_alive(long pgid) { return kill(-(pid_t)pgid, 0) == 0 || errno != ESRCH; }

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Waits up to ms for every live group of e[] to be gone. */
static void wait_groups(gentry *e, int n, long ms) {
    for (long t = 0; t < ms; t += 10) {
        bool any = false;
        for (int i = 0; i < n; i++)
            if (e[i].op == 'G' && !e[i].done && !e[i].reaped && group_alive(e[i].pid)) any = true;
        if (!any) return;
        sleep_ms(10);
    }
}

static URC_NORETURN void guard_main(int fd) {
#ifdef __linux__
    prctl(PR_SET_NAME, "unetrc-guard"); /* what ps and top show */
#endif
    /* Only the socket closing ends the guard: terminal signals reach the
     * whole foreground process group, the guard included. */
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD && s != SIGSEGV && s != SIGBUS && s != SIGFPE && s != SIGILL &&
            s != SIGABRT && s != SIGTRAP && s != SIGSYS)
            signal(s, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Hold nothing open that someone may be waiting on (the output of a
     * shell's $(...), a lock): only the socket, moved to fd 3 (out of the
     * way of 0-2 first, in case this process was started without them). */
    if (fd < 3) {
        int s = fcntl(fd, F_DUPFD, 3);
        close(fd);
        fd = s;
    }
    int nul = open("/dev/null", O_RDWR);
    for (int i = 0; i < 3 && nul >= 0; i++) dup2(nul, i);
    if (fd != 3) {
        dup2(fd, 3);
        fd = 3;
    }
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 4u, ~0u, 0u) != 0)
#endif
        for (int i = 4; i < 1024; i++) close(i);
    URC_VEC(gentry) e = {0};
    gmsg m;
    for (;;) {
        ssize_t r = recv(fd, &m, sizeof m, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < (ssize_t)offsetof(gmsg, path)) break; /* end of file: the compiler has ended */
        size_t len = (size_t)r - offsetof(gmsg, path);
        char *path = len ? strndup(m.path, len) : NULL;
        if (m.op == 'G' || m.op == 'D') {
            gentry g = {m.op, m.pid, path, false, false};
            URC_VEC_PUSH(e, g);
            continue;
        }
        for (int i = 0; i < e.len; i++) {
            gentry *g = &e.items[i];
            if (m.op == 'r' && g->op == 'G' && g->pid == m.pid) g->reaped = true;
            if (m.op == 'g' && g->op == 'G' && g->pid == m.pid) g->done = true;
            if (m.op == 'd' && g->op == 'D' && path && g->path && !strcmp(g->path, path)) g->done = true;
        }
        free(path);
    }
    /* Children first (they may be writing into the folders): SIGTERM lets a
     * C compiler remove its own temporaries; SIGKILL what is left. */
    for (int i = 0; i < e.len; i++)
        if (e.items[i].op == 'G' && !e.items[i].done && !e.items[i].reaped) kill(-(pid_t)e.items[i].pid, SIGTERM);
    wait_groups(e.items, e.len, 1000);
    for (int i = 0; i < e.len; i++)
        if (e.items[i].op == 'G' && !e.items[i].done && !e.items[i].reaped) kill(-(pid_t)e.items[i].pid, SIGKILL);
    wait_groups(e.items, e.len, 2000);
    for (int i = 0; i < e.len; i++) {
        gentry *g = &e.items[i];
        if (g->done || !g->path) continue;
        if (g->op == 'G') urc_remove_temps_of(g->path, g->pid);
        else urc_remove_tree(g->path);
    }
    _exit(0);
}

static void guard_start(void) {
    take_ownership();
    if (guard_pid > 0) return;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return; /* best effort */
    sigset_t old;
    urc_signals_block(&old); /* the guard must never run this process's handlers */
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[1]);
        guard_main(sv[0]);
    }
    urc_signals_restore(&old);
    close(sv[0]);
    if (pid < 0) {
        close(sv[1]);
        return;
    }
    guard_pid = pid;
    guard_fd = sv[1];
}

/* Async-signal-safe: the guard does what is left, then exits. */
static void guard_finish(void) {
    if (guard_fd < 0) return;
    close(guard_fd);
    guard_fd = -1;
    while (waitpid(guard_pid, NULL, 0) < 0 && errno == EINTR) {
    }
    guard_pid = 0;
}

/* ---- signals ------------------------------------------------------------- */

/* Ends the child whose process group is c: forwards sig (a C compiler then
 * removes its temporaries), waits up to 2 s for it to exit, kills what is
 * left of the group (the child, if it did not exit, is not reaped yet, so
 * the group id cannot have been reused), reaps it. Async-signal-safe. */
static void stop_child(pid_t c, int sig) {
    kill(-c, sig);
    for (int i = 0; i < 200; i++) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_PID, (id_t)c, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == c) break;
        sleep_ms(10);
    }
    kill(-c, SIGKILL);
    while (waitpid(c, NULL, 0) < 0 && errno == EINTR) {
    }
}

static void on_fatal_signal(int sig) {
    int saved = errno;
    if (getpid() == owner) {
        urc_outfile_remove_temps();
        pid_t c = running_child;
        if (c > 0) {
            running_child = 0;
            stop_child(c, sig == SIGINT || sig == SIGHUP ? sig : SIGTERM);
            guard_send('r', c, NULL);
        }
        guard_finish();
    } else {
        urc_outfile_remove_temps();
    }
    signal(sig, SIG_DFL);
    raise(sig); /* delivered when the handler returns: the process dies of it */
    errno = saved;
}

static struct sigaction stop_action;

/* SIGTSTP (Ctrl-Z): stop the child's group too, then stop. */
static void on_stop_signal(int sig) {
    int saved = errno;
    pid_t c = running_child;
    if (c > 0) kill(-c, SIGSTOP);
    signal(sig, SIG_DFL);
    raise(sig);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(SIG_UNBLOCK, &s, NULL); /* stops here until SIGCONT */
    sigaction(sig, &stop_action, NULL);
    errno = saved;
}

static void on_continue(int sig) {
    (void)sig;
    int saved = errno;
    pid_t c = running_child;
    if (c > 0) kill(-c, SIGCONT);
    errno = saved;
}

void urc_cleanup_on_signals(void) {
    take_ownership();
    sigset_t mask;
    handled_set(&mask);
    struct sigaction sa, old;
    for (size_t i = 0; i < URC_ARRAY_LEN(fatal_signals); i++) {
        int s = fatal_signals[i];
        /* A signal ignored on entry (nohup, a background job of a script)
         * stays ignored, here and in the children. */
        if (sigaction(s, NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sa.sa_mask = mask;
        if (sigaction(s, &sa, NULL) == 0) installed[s] = true;
    }
    if (sigaction(SIGTSTP, NULL, &old) == 0 && old.sa_handler != SIG_IGN) {
        memset(&stop_action, 0, sizeof stop_action);
        stop_action.sa_handler = on_stop_signal;
        stop_action.sa_mask = mask;
        stop_action.sa_flags = SA_RESTART;
        if (sigaction(SIGTSTP, &stop_action, NULL) == 0) installed[SIGTSTP] = true;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_continue;
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGCONT, &sa, NULL) == 0) installed[SIGCONT] = true;
    /* Past `ulimit -f` a write fails with EFBIG, reported and cleaned up
     * like a full disk, instead of a core-dumping signal. */
    signal(SIGXFSZ, SIG_IGN);
    /* Children must be waited for (an ignored SIGCHLD, inherited, would
     * reap them behind waitpid's back). */
    signal(SIGCHLD, SIG_DFL);
}

void urc_cleanup_all(void) {
    urc_outfile_abort_all();
    if (owner != getpid()) return;
    pid_t c = running_child;
    if (c > 0) {
        running_child = 0;
        stop_child(c, SIGTERM);
        guard_send('r', c, NULL);
    }
    while (scratch.len) urc_scratch_remove(scratch.items[scratch.len - 1]);
    guard_finish();
}

void urc_out_of_memory(size_t bytes) {
    static volatile sig_atomic_t busy;
    if (busy) _exit(1); /* out of memory again while cleaning up */
    busy = 1;
    /* No allocation: the file name is printed byte by byte, control
     * characters as spaces (as urc_diag_one_line would). */
    fputs("unetrc: error: ", stderr);
    const char *f = urc_diag_file();
    if (f && *f) {
        for (const unsigned char *p = (const unsigned char *)f; *p; p++)
            fputc(*p < 0x20 || *p == 0x7f ? ' ' : *p, stderr);
        fputs(": ", stderr);
    }
    fprintf(stderr, "out of memory (allocating %zu bytes)\n", bytes);
    exit(1); /* urc_cleanup_all runs at exit */
}

/* ---- child processes ---------------------------------------------------- */

static URC_NORETURN void child_exec(char **argv, const urc_child_opts *o, int logfd, pid_t parent,
                                    const sigset_t *mask) {
    for (int s = 1; s < NSIG; s++)
        if (installed[s]) signal(s, SIG_DFL); /* this process's handlers must not run here */
    setpgid(0, 0);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    if (getppid() != parent) _exit(127); /* the parent died before prctl */
    /* Its group is in the background: writing to the terminal must not
     * stop it (stty tostop), reading it must not either (stdin /dev/null). */
    signal(SIGTTOU, SIG_IGN);
    int nul = open("/dev/null", O_RDONLY);
    if (nul > 0) {
        dup2(nul, 0);
        close(nul);
    }
    if (logfd >= 0) {
        dup2(logfd, 1);
        dup2(logfd, 2);
    }
    if (o->tmpdir) setenv("TMPDIR", o->tmpdir, 1);
    sigprocmask(SIG_SETMASK, mask, NULL);
    execvp(argv[0], argv);
    /* why, for the parent (urc_child_exec_errno): "exec errno N" on the log, async-signal-safe */
    char msg[32] = "exec errno ";
    int len = 11, e = errno, digits = 1;
    for (int v = e; v >= 10; v /= 10) digits++;
    for (int k = digits - 1, v = e; k >= 0; k--, v /= 10) msg[len + k] = (char)('0' + v % 10);
    len += digits;
    msg[len++] = '\n';
    if (write(2, msg, (size_t)len) < 0) _exit(127);
    _exit(127);
}

int urc_child_exec_errno(const char *log_text) {
    const char *k = "exec errno ";
    if (!log_text || strncmp(log_text, k, strlen(k))) return 0;
    return atoi(log_text + strlen(k));
}

int urc_run_child(char **argv, const urc_child_opts *o) {
    static const urc_child_opts none = {0};
    if (!o) o = &none;
    take_ownership();
    fflush(stdout);
    fflush(stderr);
    int logfd = -1;
    if (o->log_path) {
        if (unlink(o->log_path) != 0 && errno != ENOENT) return -1;
        logfd = open(o->log_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (logfd >= 0 && logfd < 3) { /* started without stdout: keep it off 0-2 (dup2 onto itself keeps CLOEXEC) */
            int fd = fcntl(logfd, F_DUPFD_CLOEXEC, 3);
            close(logfd);
            logfd = fd;
        }
        if (logfd < 0) return -1;
    }
    guard_start();
    sigset_t block, old;
    handled_set(&block);
    sigaddset(&block, SIGCONT);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) child_exec(argv, o, logfd, parent, &old);
    int e = errno;
    if (pid > 0) {
        setpgid(pid, pid); /* here too, so that the group exists before anyone signals it */
        running_child = pid;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (logfd >= 0) close(logfd);
    if (pid < 0) {
        errno = e;
        return -1;
    }
    guard_send('G', pid, o->temps_of);
    /* Wait for it to end without reaping it, kill what is left of its
     * group while the id cannot be reused, then reap it. */
    siginfo_t si;
    do memset(&si, 0, sizeof si);
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) != 0 && errno == EINTR);
    kill(-pid, SIGKILL);
    running_child = 0;
    int st = 0, rc;
    while ((rc = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {
    }
    if (o->temps_of) urc_remove_temps_of(o->temps_of, pid);
    guard_send('g', pid, NULL);
    if (rc < 0) return -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* ---- files and folders -------------------------------------------------- */

char *urc_scratch_create(const char *prefix, const char **err) {
    const char *t = getenv("TMPDIR");
    return urc_scratch_create_in(!t || !*t ? "/tmp" : t, prefix, err);
}

char *urc_scratch_create_in(const char *t, const char *prefix, const char **err) {
    static char msg[PATH_MAX + 100];
    take_ownership();
    guard_start();
    size_t n = strlen(t) + strlen(prefix) + 8;
    char *dir = urc_xmalloc(n);
    snprintf(dir, n, "%s/%sXXXXXX", t, prefix);
    sigset_t old;
    urc_signals_block(&old); /* created and registered, or neither */
    if (!mkdtemp(dir)) {
        int e = errno;
        urc_signals_restore(&old);
        snprintf(msg, sizeof msg, "cannot create a temporary folder in %.*s: %s", PATH_MAX, t, strerror(e));
        *err = msg;
        free(dir);
        return NULL;
    }
    guard_send('D', 0, dir);
    URC_VEC_PUSH(scratch, dir);
    urc_signals_restore(&old);
    return dir;
}

void urc_scratch_remove(char *dir) {
    urc_remove_tree(dir);
    guard_send('d', 0, dir);
    for (int i = 0; i < scratch.len; i++)
        if (scratch.items[i] == dir) {
            scratch.items[i] = scratch.items[--scratch.len];
            break;
        }
    free(dir);
}

/* Removes what folder dfd holds (and closes dfd). openat with O_NOFOLLOW
 * refuses a link to a folder; unlinkat removes a link itself. */
static void remove_in(int dfd, int depth) {
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (unlinkat(dfd, e->d_name, 0) == 0 || (errno != EISDIR && errno != EPERM) || depth >= 32) continue;
        int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) remove_in(sub, depth + 1);
        unlinkat(dfd, e->d_name, AT_REMOVEDIR);
    }
    closedir(d);
}

void urc_remove_tree(const char *dir) {
    for (int attempt = 0; attempt < 3; attempt++) { /* again if a dying child added a file */
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) return;
        remove_in(fd, 0);
        if (rmdir(dir) == 0 || errno != ENOTEMPTY) return;
    }
}

void urc_remove_temps_of(const char *path, long pid) {
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX], prefix[NAME_MAX + 64];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int plen = snprintf(prefix, sizeof prefix, "%s.tmp%ld.", slash ? slash + 1 : path, pid);
    if (plen <= 0 || (size_t)plen >= sizeof prefix) return;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0) close(dfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, (size_t)plen)) unlinkat(dfd, e->d_name, 0);
    closedir(d);
}

bool urc_write_new_file(const char *path, const void *data, size_t n, int mode, const char **err) {
    static char msg[300];
    int fd = -1, e = 0;
    if (unlink(path) != 0 && errno != ENOENT) e = errno;
    if (!e && (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)) < 0) e = errno;
    const char *p = data;
    while (!e && n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) e = w < 0 ? errno : EIO;
        else p += w, n -= (size_t)w;
    }
    if (fd >= 0 && close(fd) != 0 && !e) e = errno;
    if (!e) return true;
    if (fd >= 0) unlink(path);
    snprintf(msg, sizeof msg, "cannot write file: %s", strerror(e));
    *err = msg;
    return false;
}
