/*
 * siglat: how long a signal takes to reach a process through an init, and straight.
 *
 *   siglat measure FIFO N WARMUP -- INIT [ARGS...]
 *       Starts INIT [ARGS...] (whose last arguments must run `siglat child FIFO`), waits for
 *       the child's ready record, then N + WARMUP times sends SIGUSR1 once to the init and
 *       once straight to the child (alternating which goes first), and prints one line per
 *       kept sample: "init NS" or "direct NS", the nanoseconds from just before kill() to
 *       the child's handler. Finally sends SIGTERM to the init and waits for it to exit.
 *   siglat child FIFO
 *       Announces its PID over FIFO, then timestamps every SIGUSR1 in the handler with
 *       CLOCK_MONOTONIC (system-wide, so both sides read the same clock) and writes it back.
 *
 * Records on the FIFO are two uint64 (kind, value): writes below PIPE_BUF are atomic.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { KIND_READY = 1, KIND_SIGNAL = 2 };

static int out_fd = -1;

/* Monotonic time in nanoseconds. */
static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Writes one record; only async-signal-safe calls, since the handler uses it. */
static void put(uint64_t kind, uint64_t value) {
    uint64_t rec[2] = {kind, value};
    ssize_t n = write(out_fd, rec, sizeof rec);
    (void)n;
}

/* The child's SIGUSR1 handler: the timestamp first, so the write does not count. */
static void on_usr1(int sig) {
    (void)sig;
    put(KIND_SIGNAL, now_ns());
}

/* Child mode: announce, then wait for signals until one with a default action ends it. */
static int child(const char *fifo) {
    out_fd = open(fifo, O_WRONLY);
    if (out_fd < 0) {
        perror("siglat child: open fifo");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    /* Inits are meant to restore the mask; make sure anyway so a bad one cannot hang us. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    signal(SIGTERM, SIG_DFL);
    put(KIND_READY, (uint64_t)getpid());
    for (;;)
        pause();
}

/* Reads one record, failing after timeout_ms without one. */
static int get(int fd, uint64_t rec[2], int timeout_ms) {
    size_t have = 0;
    while (have < 2 * sizeof(uint64_t)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t n = read(fd, (char *)rec + have, 2 * sizeof(uint64_t) - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    return 0;
}

/* Sends SIGUSR1 to target and returns the latency to the child's handler, or -1. */
static int64_t one(int fd, pid_t target) {
    uint64_t rec[2];
    uint64_t t0 = now_ns();
    if (kill(target, SIGUSR1) != 0)
        return -1;
    if (get(fd, rec, 5000) != 0 || rec[0] != KIND_SIGNAL)
        return -1;
    return (int64_t)(rec[1] - t0);
}

/* Waits for pid up to ms milliseconds; kills it when it overstays. */
static void reap(pid_t pid, int ms) {
    for (int i = 0; i < ms; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(1000);
    }
    fprintf(stderr, "siglat: init %d did not exit after SIGTERM; killing it\n", pid);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Measure mode, see the file comment. */
static int measure(const char *fifo, long n, long warmup, char **cmd) {
    unlink(fifo);
    if (mkfifo(fifo, 0600) != 0) {
        perror("siglat: mkfifo");
        return 1;
    }
    /* O_RDWR: open does not wait for a writer and reads never see EOF. */
    int fd = open(fifo, O_RDWR);
    if (fd < 0) {
        perror("siglat: open fifo");
        return 1;
    }
    pid_t init = fork();
    if (init == 0) {
        close(fd);
        execvp(cmd[0], cmd);
        perror("siglat: exec init");
        _exit(127);
    }
    uint64_t rec[2];
    if (get(fd, rec, 10000) != 0 || rec[0] != KIND_READY) {
        fprintf(stderr, "siglat: no ready record from the child of %s\n", cmd[0]);
        kill(init, SIGKILL);
        return 1;
    }
    pid_t kid = (pid_t)rec[1];
    const struct timespec gap = {0, 500000};
    for (long i = 0; i < n + warmup; i++) {
        for (int k = 0; k < 2; k++) {
            int via_init = (k == (int)(i & 1));
            nanosleep(&gap, NULL);
            int64_t ns = one(fd, via_init ? init : kid);
            if (ns < 0) {
                fprintf(stderr, "siglat: signal %ld via %s got no answer\n", i,
                        via_init ? "init" : "direct");
                kill(init, SIGKILL);
                kill(kid, SIGKILL);
                return 1;
            }
            if (i >= warmup)
                printf("%s %lld\n", via_init ? "init" : "direct", (long long)ns);
        }
    }
    kill(init, SIGTERM);
    reap(init, 5000);
    unlink(fifo);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "child") == 0)
        return child(argv[2]);
    if (argc >= 7 && strcmp(argv[1], "measure") == 0 && strcmp(argv[5], "--") == 0)
        return measure(argv[2], atol(argv[3]), atol(argv[4]), argv + 6);
    fprintf(stderr, "usage: siglat measure FIFO N WARMUP -- INIT [ARGS...]\n"
                    "       siglat child FIFO\n");
    return 2;
}
