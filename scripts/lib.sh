# scripts/lib.sh: helpers shared by scripts/test, scripts/demo and the
# scripts/bench-* benchmarks. Sourced, never run; the caller has already done
# `set -euo pipefail` and changed to the repository root.

# Debian packages the build and the tests need. meson configures tests/ too,
# so even the demo needs Criterion (and libpng) to get past `meson setup`.
# wrk drives the HTTP servers of scripts/demo, scripts/bench-http and
# `green compare`, and ss (iproute2) checks that each connection was
# answered. gnuplot-nox draws green compare's chart (no X, but the pngcairo
# terminal), libpng-dev lets the tests read that chart, and man-db's man -l
# reads the manual pages in the install test. python3 runs tests/real/'s
# scripts as a real, unmodified threaded program; meson pulls it in anyway,
# but the test must never depend on that, nor be skipped for want of it.
G_PACKAGES=(meson ninja-build gcc pkg-config libuv1-dev libboost-context-dev
    libcriterion-dev libc-ares-dev wrk iproute2 gnuplot-nox libpng-dev man-db
    python3)

g_log()
{
    printf '==> %s\n' "$*" >&2
}

g_die()
{
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# g_median N...: the median of numbers.
g_median()
{
    printf '%s\n' "$@" | sort -g | awk '
        { v[NR] = $1 }
        END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Installs whichever of G_PACKAGES is missing. Runs
# `apt-get update` only when there is something to install, so a machine that
# is already set up never touches the network.
g_ensure_packages()
{
    local pkg status
    local missing=()

    for pkg in "${G_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        if [[ $status != "install ok installed" ]]; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    if ((EUID != 0)); then
        g_die "missing packages: ${missing[*]} (run as root, or install them)"
    fi
    g_log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# g_configure keep|reconfigure: configures build/ if it is not configured
# yet. With "reconfigure", an existing build/ is reconfigured as well
# (scripts/test wants the tree's meson.build files read afresh even where
# ninja would not notice a change); with "keep" it is left to ninja.
g_configure()
{
    if [[ -f build/meson-private/coredata.dat ]]; then
        if [[ $1 == reconfigure ]]; then
            meson setup --reconfigure build
        fi
    else
        meson setup build
    fi
}

# g_ensure_build keep|reconfigure: packages, configure, compile; what every
# script needs before it runs anything from build/.
g_ensure_build()
{
    g_ensure_packages
    g_configure "$1"
    ninja -C build
}
