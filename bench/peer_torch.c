/* The PyTorch peer: tools/torch_peer.py in a child process, spoken to by lines on pipes (one
 * request, one reply "ok ..." or "error ..."), so the bench can alternate it with its own runs
 * on the same data. The protocol is documented at the top of tools/torch_peer.py. */
#include "bench.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct bench_torch {
    pid_t pid;
    FILE *to, *from;
    char version[64];
    char line[512];
};

/* Reads one line into t->line (newline removed); false at end of file. */
static bool read_line(bench_torch *t) {
    if (!fgets(t->line, sizeof t->line, t->from)) return false;
    t->line[strcspn(t->line, "\n")] = '\0';
    return true;
}

const char *bench_torch_request(bench_torch *t, const char *request) {
    if (fprintf(t->to, "%s\n", request) < 0 || fflush(t->to) || !read_line(t)) {
        fprintf(stderr, "clattn bench: the torch peer exited (request: %.60s)\n", request);
        return NULL;
    }
    if (strncmp(t->line, "ok", 2) == 0) return t->line[2] ? t->line + 3 : t->line + 2;
    fprintf(stderr, "clattn bench: torch peer: %s\n", t->line);
    return NULL;
}

bench_torch *bench_torch_start(const char *python, const char *script, unsigned threads) {
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    bench_torch *t = calloc(1, sizeof *t);
    if (!t || pipe(in) || pipe(out)) {
        fprintf(stderr, "clattn bench: cannot start the torch peer: %s\n", strerror(errno));
        goto fail;
    }
    signal(SIGPIPE, SIG_IGN); /* a peer that exits gives a write error, not a dead bench */
    char threads_arg[16];
    snprintf(threads_arg, sizeof threads_arg, "%u", threads);
    char *const argv[] = {(char *)python, (char *)script, "--threads", threads_arg, NULL};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, in[1]);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    int err = posix_spawnp(&t->pid, python, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]), close(out[1]);
    in[0] = out[1] = -1;
    if (err) {
        fprintf(stderr, "clattn bench: cannot run '%s': %s\n", python, strerror(err));
        t->pid = 0;
        goto fail;
    }
    t->to = fdopen(in[1], "w");
    t->from = fdopen(out[0], "r");
    if (!t->to || !t->from) goto fail;
    in[1] = out[0] = -1;
    /* The greeting: "ok torch VERSION", or "error ..." (e.g. no torch in that Python). */
    if (!read_line(t)) {
        fprintf(stderr, "clattn bench: '%s %s' exited without a greeting\n", python, script);
        goto fail;
    }
    if (strncmp(t->line, "ok torch ", 9) != 0) {
        fprintf(stderr, "clattn bench: torch peer (%s): %s\n", python, t->line);
        goto fail;
    }
    snprintf(t->version, sizeof t->version, "%s", t->line + 9);
    return t;
fail:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0) close(in[i]);
        if (out[i] >= 0) close(out[i]);
    }
    bench_torch_stop(t);
    return NULL;
}

void bench_torch_stop(bench_torch *t) {
    if (!t) return;
    if (t->to) {
        fprintf(t->to, "quit\n");
        fclose(t->to);
    }
    if (t->from) fclose(t->from);
    if (t->pid > 0) {
        int status;
        waitpid(t->pid, &status, 0);
    }
    free(t);
}

const char *bench_torch_version(const bench_torch *t) {
    return t->version;
}
