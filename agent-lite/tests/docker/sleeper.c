/* The smallest workload for the container tests: a static binary that holds some memory,
 * burns some CPU and waits for a signal. No image can be pulled here, so the tests build
 * one from this file alone (gcc -static, then `docker import`).
 *
 *   sleeper            hold ALLOC_MB MiB (touched), burn BURN_PCT % of one core, until SIGTERM;
 *                      with LOG_EVERY_MS, also write every so often, unbuffered:
 *                        stdout  {"level":"info","message":"tick N run R","dd.trace_id":LOG_TRACE_ID,...}
 *                        stderr  {"level":"error","message":"stderr tick N run R","dd.trace_id":...}
 *                        stderr  plain stderr tick N run R
 *                      where N counts from 0 and R is the start time in ns (one per run)
 *   sleeper health     exit 0 (the health check)
 *   sh ...             exit 0: the image ships this binary as /bin/sh too, so that Docker's
 *                      CMD-SHELL health checks (what `docker run --health-cmd` makes) pass
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig) { (void)sig; stop = 1; }

static long env_long(const char *name, long fallback) {
    const char *v = getenv(name);
    return v ? atol(v) : fallback;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    if (strcmp(base, "sh") == 0) return 0;
    if (argc > 1 && strcmp(argv[1], "health") == 0) return 0;
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    long mb = env_long("ALLOC_MB", 0);
    long burn = env_long("BURN_PCT", 0);
    if (mb > 0) {
        size_t n = (size_t)mb << 20;
        char *p = malloc(n);
        if (p) memset(p, 1, n);
    }
    long log_every = env_long("LOG_EVERY_MS", 0);
    const char *trace_id = getenv("LOG_TRACE_ID");
    if (!trace_id) trace_id = "0";
    struct timespec boot;
    clock_gettime(CLOCK_REALTIME, &boot);
    long long run = (long long)boot.tv_sec * 1000000000LL + boot.tv_nsec;
    long tick = 0;
    double next_log = now_ms();
    volatile unsigned long spin = 0;
    while (!stop) {
        double start = now_ms();
        if (log_every > 0 && start >= next_log) {
            /* dprintf writes at once: a pipe would otherwise hold stdio's buffer. */
            dprintf(1, "{\"level\":\"info\",\"message\":\"tick %ld run %lld\",\"dd.trace_id\":\"%s\",\"dd.span_id\":\"7\"}\n",
                    tick, run, trace_id);
            dprintf(2, "{\"level\":\"error\",\"message\":\"stderr tick %ld run %lld\",\"dd.trace_id\":\"%s\"}\n",
                    tick, run, trace_id);
            dprintf(2, "plain stderr tick %ld run %lld\n", tick, run);
            tick++;
            next_log = start + (double)log_every;
        }
        while (burn > 0 && now_ms() - start < (double)burn) spin++;
        if (burn < 100) usleep((useconds_t)((100 - burn) * 1000));
    }
    return 0;
}
