/*
 * orphans: a reaping workload for an init that is PID 1 of its own PID namespace.
 *
 *   orphans N
 *       Run as the init's child under `unshare --pid --fork --mount-proc INIT orphans N`.
 *       Creates N orphans the way daemons do (fork, fork again, the middle process exits, so
 *       the grandchild is re-parented to PID 1), waits until PID 1 has reaped them all (or
 *       until nothing changed for 3 s), then prints one JSON line:
 *       {"n":N,"wall_ns":..,"init_cpu_ns":..,"zombies":..,"left":..}
 *       wall_ns: from the first fork to the last orphan gone; init_cpu_ns: PID 1's on-CPU
 *       time over the same span, from /proc/1/schedstat (nanoseconds, not 10 ms ticks);
 *       zombies: processes still in state Z at the end; left: processes other than PID 1
 *       and this one.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Monotonic time in nanoseconds. */
static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* PID 1's total on-CPU time in nanoseconds (first field of /proc/1/schedstat). */
static uint64_t init_cpu_ns(void) {
    unsigned long long ns = 0;
    FILE *f = fopen("/proc/1/schedstat", "r");
    if (f) {
        if (fscanf(f, "%llu", &ns) != 1)
            ns = 0;
        fclose(f);
    }
    return ns;
}

/* Counts processes in /proc other than PID 1 and us; *zombies gets those in state Z. */
static int count_others(int *zombies) {
    DIR *d = opendir("/proc");
    int others = 0;
    *zombies = 0;
    pid_t self = getpid();
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        int pid = atoi(e->d_name);
        if (pid == 1 || pid == self)
            continue;
        others++;
        char path[64], buf[256];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *close_paren = strrchr(buf, ')');
        if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z')
            (*zombies)++;
    }
    if (d)
        closedir(d);
    return others;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 5000;
    if (getpid() != 2 && getppid() != 1) {
        fprintf(stderr, "orphans: run me as the child of PID 1 in a PID namespace\n");
        return 2;
    }
    uint64_t cpu0 = init_cpu_ns(), t0 = now_ns(), t_end = 0;
    for (long i = 0; i < n; i++) {
        pid_t mid = fork();
        if (mid < 0) {
            perror("orphans: fork");
            return 1;
        }
        if (mid == 0) {
            if (fork() == 0)
                _exit(0); /* The orphan: whether it exits before or after mid, PID 1 reaps. */
            _exit(0);
        }
        waitpid(mid, NULL, 0);
    }
    /* Wait for PID 1 to reap; give up once the count has not moved for 3 s. */
    int zombies = 0, left = 0, last = -1;
    uint64_t changed = now_ns();
    for (;;) {
        left = count_others(&zombies);
        uint64_t t = now_ns();
        if (left == 0) {
            t_end = t;
            break;
        }
        if (left != last) {
            last = left;
            changed = t;
        } else if (t - changed > 3000000000u) {
            t_end = changed;
            break;
        }
        usleep(1000);
    }
    uint64_t cpu1 = init_cpu_ns();
    printf("{\"n\":%ld,\"wall_ns\":%llu,\"init_cpu_ns\":%llu,\"zombies\":%d,\"left\":%d}\n", n,
           (unsigned long long)(t_end - t0), (unsigned long long)(cpu1 - cpu0), zombies, left);
    return 0;
}
