/*
 * symbols: libgreen.so's symbol hygiene. It exports exactly the interposed
 * libc/pthread names listed in tests/exports.txt, none of boost.context's
 * fcontext routines, and needs no C++ runtime.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef GREEN_LIB_PATH
#error "tests/meson.build defines GREEN_LIB_PATH and EXPORTS_PATH"
#endif

/* All of a command's output, NUL-terminated. */
static char *output_of(const char *fmt, const char *arg)
{
    char cmd[4096];
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    FILE *p;
    size_t n;

    snprintf(cmd, sizeof(cmd), fmt, arg);
    p = popen(cmd, "r");
    cr_assert_not_null(p, "cannot run %s", cmd);
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    cr_assert_eq(pclose(p), 0, "%s failed", cmd);
    return buf;
}

Test(symbols, exports_exactly_the_interposed_names)
{
    char *exported = output_of(
        "nm -D --defined-only %s | awk '{print $3}' | sort", GREEN_LIB_PATH);
    char *expected = output_of("sort %s", EXPORTS_PATH);

    cr_assert_str_eq(exported, expected,
                     "nm -D --defined-only differs from tests/exports.txt");
    free(exported);
    free(expected);
}

Test(symbols, no_fcontext_symbol_is_exported)
{
    char *dynsyms = output_of("nm -D %s", GREEN_LIB_PATH);

    cr_assert_null(strstr(dynsyms, "fcontext"), "%s", dynsyms);
    free(dynsyms);
}

Test(symbols, needs_no_cxx_runtime)
{
    char *needed = output_of("ldd %s", GREEN_LIB_PATH);

    cr_assert_null(strstr(needed, "libstdc++"), "%s", needed);
    cr_assert_null(strstr(needed, "libboost"), "%s", needed);
    cr_assert_not_null(strstr(needed, "libuv"), "%s", needed);
    free(needed);
}
