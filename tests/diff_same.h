/*
 * diff_same: the comparison a differential runner makes for each program of
 * tests/progs/. It runs the program natively, which must end with a given
 * exit code, then under LD_PRELOAD=libgreen.so once per GREEN_LOOPS value;
 * each green run must print the same stdout and end the same way, and pass
 * the checks asked for on what the program reported on stderr. Failures are
 * Criterion assertions, so this runs inside a Criterion test; the child
 * processes come from diff_run.c. GREEN_LIB_PATH is a define of the test
 * executable.
 */
#ifndef GREEN_TESTS_DIFF_SAME_H
#define GREEN_TESTS_DIFF_SAME_H

#include "diff_run.h"

/* What to check of a green run besides stdout and the way it ended. */
enum diff_checks {
    DIFF_NO_CHECK = 0,
    DIFF_FEW_OS_THREADS = 1, /* "os_threads_max=N" with 1 <= N <= loops + 3 */
    DIFF_ON_TIME = 2,        /* "max_late_us=N" with 0 <= N < 20,000 */
};

/* One program and how to compare its runs. */
struct diff_case {
    const char *prog; /* path of the program, run without arguments */
    int expect;       /* the exit code of the native run */
    const int *loops; /* GREEN_LOOPS values, 0-terminated */
    int checks;       /* enum diff_checks, or-ed */
    int timeout_ms;   /* per run; the child is killed past it */
    /* If not NULL, gets every green run for further assertions. */
    void (*extra)(const struct run *green, int loops);
    /* If not NULL, gets the native run for further assertions. */
    void (*native_extra)(const struct run *native);
};

/* Runs c->prog natively and green and asserts that the runs agree. */
void diff_same(const struct diff_case *c);

#endif
