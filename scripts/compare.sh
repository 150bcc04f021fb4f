# scripts/compare.sh: `green compare`, sourced by green (scripts/green.in)
# when its first argument is "compare", after green's own helpers (g_log,
# g_die, usage_error, need_value, find_file, find_libgreen and the GREEN_*
# paths). Never run. meson copies it to build/scripts/ and installs it with
# http.sh and measure in libexecdir/libgreen.
#
# For each connection count: the server natively, then under libgreen,
# each time a fresh server under measure with wrk in front (http_run of
# scripts/http.sh). Then one table, a CSV and a gnuplot chart. Only the
# processes it started are signalled, by pid: by http.sh when a run ends,
# and by cmp_cleanup from the EXIT trap, which INT and TERM reach.

compare_usage()
{
    cat <<'EOF'
usage: green compare [OPTION]... -- SERVER [ARG]...

Runs the HTTP server SERVER threaded (natively), then green, once per
connection count, each time a fresh server under wrk, and prints req/s,
p50 and p99 latency, peak RSS and peak OS threads side by side. Every
"{port}" in SERVER and its ARGs becomes a free port; the server is ready
once a socket listens there.

  --connections LIST  comma-separated connection counts (100,1000,10000)
  --duration D        each wrk run: seconds, or with s, m or h (10s)
  --url PATH          the path wrk asks for (/)
  --output PREFIX     write PREFIX.csv and PREFIX.png
                      (green-compare-DATE-TIME in the current directory)
  --help              print this help and exit

GREEN_* variables set in the environment apply to the green runs.
Example: green compare --connections 10,100 -- ./server --port {port}
EOF
}

# The state of a comparison, for the traps and the progress line.
CMP_TICKER_PID=
CMP_RUN_STARTED=0
CMP_RUNS_DONE=0
CMP_RUNS_TOTAL=0
CMP_RUN_SECONDS=0
CMP_SPENT_DS=0

# shellcheck disable=SC2317 # run by the EXIT trap
cmp_cleanup()
{
    ticker_stop
    http_kill_all
    if [[ -n $HTTP_DIR ]]; then
        rm -rf "$HTTP_DIR"
    fi
}

# secs_left: an estimate of the seconds the comparison still takes: the
# runs not yet started at the mean length of those done (at first, wrk's
# duration and 2 s to start and stop the server), plus what the current
# run has left.
secs_left()
{
    local per=$((CMP_RUN_SECONDS + 2)) left run_ds now

    if ((CMP_RUNS_DONE > 0)); then
        per=$(((CMP_SPENT_DS / CMP_RUNS_DONE + 5) / 10))
    fi
    now=$(now_ds)
    run_ds=$((now - CMP_RUN_STARTED))
    left=$(((CMP_RUNS_TOTAL - CMP_RUNS_DONE - 1) * per))
    if ((run_ds / 10 < per)); then
        left=$((left + per - run_ds / 10))
    fi
    echo "$left"
}

# progress WHAT: "[run I/N] WHAT, about S s left". On a terminal, one line
# that ticker rewrites every second; otherwise one line per run.
progress()
{
    if [[ -t 2 ]]; then
        printf '\r\033[K[run %d/%d] %s, about %d s left' \
            $((CMP_RUNS_DONE + 1)) "$CMP_RUNS_TOTAL" "$1" "$(secs_left)" >&2
    else
        printf '[run %d/%d] %s, about %d s left\n' \
            $((CMP_RUNS_DONE + 1)) "$CMP_RUNS_TOTAL" "$1" "$(secs_left)" >&2
    fi
}

# ticker_start WHAT: on a terminal, a background loop that refreshes the
# progress line while a run goes on; ticker_stop ends it (by its pid).
ticker_start()
{
    if [[ -t 2 ]]; then
        (
            nap=
            trap 'kill "$nap" 2>/dev/null; exit 0' TERM
            while :; do
                # In the background, so that TERM is acted on at once.
                sleep 1 &
                nap=$!
                wait "$nap"
                progress "$1"
            done
        ) &
        CMP_TICKER_PID=$!
    fi
}

ticker_stop()
{
    if [[ -n $CMP_TICKER_PID ]]; then
        kill -TERM "$CMP_TICKER_PID" 2>/dev/null || true
        wait "$CMP_TICKER_PID" 2>/dev/null || true
        CMP_TICKER_PID=
        printf '\r\033[K' >&2
    fi
}

# cmp_run MODE CONNECTIONS SERVER...: one run, threaded or green, with
# its progress line.
cmp_run()
{
    local what="$1, $2 connections, $HTTP_DURATION of wrk"
    local mode=$1 conns=$2 env=() starving_ok=1

    shift 2
    if [[ $mode == green ]]; then
        env=("LD_PRELOAD=$LIBGREEN${LD_PRELOAD:+:$LD_PRELOAD}")
        starving_ok=
    fi
    CMP_RUN_STARTED=$(now_ds)
    progress "$what"
    ticker_start "$what"
    HTTP_STARVING_OK=$starving_ok http_run "$mode-$conns" "$conns" \
        "${env[@]}" -- "$@"
    ticker_stop
    CMP_RUNS_DONE=$((CMP_RUNS_DONE + 1))
    CMP_SPENT_DS=$((CMP_SPENT_DS + $(now_ds) - CMP_RUN_STARTED))
}

# cmp_csv CONNECTIONS...: the results, one row per run, as CSV.
cmp_csv()
{
    local c mode why

    echo "mode,connections,rps,p50_ms,p99_ms,peak_rss_kb,peak_threads,error"
    for c in "$@"; do
        for mode in threaded green; do
            why=$(http_get "$mode-$c" failed)
            if [[ -n $why ]]; then
                why=${why//$'\n'/ }
                printf '%s,%s,,,,,,"%s"\n' "$mode" "$c" "${why//\"/\"\"}"
            else
                printf '%s,%s,%s,%s,%s,%s,%s,\n' "$mode" "$c" \
                    "$(http_get "$mode-$c" rps)" \
                    "$(http_get "$mode-$c" p50_ms)" \
                    "$(http_get "$mode-$c" p99_ms)" \
                    "$(http_get "$mode-$c" maxrss_kb)" \
                    "$(http_get "$mode-$c" peak_threads)"
            fi
        done
    done
}

# cmp_table CSV: the results side by side, with green / threaded.
cmp_table()
{
    awk -F, "$HTTP_AWK_FORMAT"'
        function cell(v, f) {
            if (v == "")
                return "failed"
            if (f == "rps")
                return fmt_rps(v)
            if (f == "ms")
                return fmt_ms(v)
            if (f == "kb")
                return fmt_kb(v)
            return v
        }
        function ratio(a, b) {
            return (a == "" || b == "") ? "-" : fmt_x(a, b)
        }
        NR > 1 { v[$1, $2, "rps"] = $3; v[$1, $2, "p50"] = $4
                 v[$1, $2, "p99"] = $5; v[$1, $2, "rss"] = $6
                 v[$1, $2, "thr"] = $7
                 if (!seen[$2]++) conns[++n] = $2 }
        END {
            split("rps p50 p99 rss thr", key, " ")
            split("req/s|p50 latency|p99 latency|peak RSS|peak OS threads",
                label, "|")
            split("rps ms ms kb n", kind, " ")
            fmt = "%-12s %-16s %11s %11s %15s\n"
            printf fmt, "connections", "", "threaded", "green",
                "green/threaded"
            for (i = 1; i <= n; i++)
                for (k = 1; k <= 5; k++) {
                    t = v["threaded", conns[i], key[k]]
                    g = v["green", conns[i], key[k]]
                    printf fmt, k == 1 ? conns[i] : "", label[k],
                        cell(t, kind[k]), cell(g, kind[k]), ratio(g, t)
                }
        }' "$1"
}

# cmp_chart CSV PNG TITLE: req/s and peak RSS against connections, threaded
# and green, drawn by gnuplot. Fails if gnuplot does.
cmp_chart()
{
    local data=$HTTP_DIR/chart.dat title=${3//\'/\'\'} xtics xaxis

    # One line per connection count: c, req/s and RSS in MiB, threaded
    # then green; "?" where a run failed.
    awk -F, '
        function val(m, c, f) {
            return ((m, c) in ok) ? v[m, c, f] : "?"
        }
        NR > 1 { if ($3 != "") { ok[$1, $2] = 1; v[$1, $2, "rps"] = $3
                                 v[$1, $2, "rss"] = $6 / 1024 }
                 if (!seen[$2]++) conns[++n] = $2 }
        END {
            for (i = 1; i <= n; i++) {
                c = conns[i]
                print c, val("threaded", c, "rps"), val("green", c, "rps"),
                    val("threaded", c, "rss"), val("green", c, "rss")
            }
        }' "$1" >"$data"
    xtics=$(awk '{ printf "%s%s", (NR > 1 ? ", " : ""), $1 }' "$data")
    # A log scale once the counts span a factor of 10, and some room on
    # both sides so that the first and last points are not on the border.
    xaxis=$(awk '
        NR == 1 || $1 < lo { lo = $1 }
        NR == 1 || $1 > hi { hi = $1 }
        END {
            if (hi >= 10 * lo)
                printf "set logscale x; set xrange [%g:%g]", lo / 1.5, hi * 1.5
            else if (hi > lo)
                printf "set xrange [%g:%g]", lo - (hi - lo) / 10,
                    hi + (hi - lo) / 10
            else
                printf "set xrange [%g:%g]", lo / 2, hi * 1.5
        }' "$data")
    gnuplot 2>"$HTTP_DIR/gnuplot.err" <<EOF || {
set terminal pngcairo size 900,800 noenhanced font ",10"
set output '${2//\'/\'\'}'
set datafile missing '?'
$xaxis
set xtics ($xtics)
set grid
set key top left
set style line 1 lc rgb '#d95f02' lw 2 pt 7 ps 1.2
set style line 2 lc rgb '#1b9e77' lw 2 pt 7 ps 1.2
set multiplot layout 2,1 title 'green compare: $title'
set ylabel 'req/s'
set yrange [0:*]
plot '$data' using 1:2 with linespoints ls 1 title 'threaded', \
     '' using 1:3 with linespoints ls 2 title 'green'
set xlabel 'connections'
set ylabel 'peak RSS (MiB)'
plot '$data' using 1:4 with linespoints ls 1 title 'threaded', \
     '' using 1:5 with linespoints ls 2 title 'green'
unset multiplot
EOF
        g_log "gnuplot failed: $(head -c 300 "$HTTP_DIR/gnuplot.err")"
        return 1
    }
}

# compare_main ARG...: green compare.
compare_main()
{
    local conns_list=100,1000,10000 duration=10s url=/ output='' opt value
    local conns=() c max=0 failed=0 helper http_sh csv png

    while (($# > 0)); do
        opt=$1
        case $opt in
        --)
            shift
            break
            ;;
        --help | -h)
            compare_usage
            exit 0
            ;;
        --connections | --duration | --url | --output)
            need_value "$opt" $#
            value=$2
            shift 2
            ;;
        --connections=* | --duration=* | --url=* | --output=*)
            value=${opt#*=}
            opt=${opt%%=*}
            shift
            ;;
        -?*)
            usage_error "compare: unknown option ${opt%%=*}; see" \
                "green compare --help"
            ;;
        *)
            usage_error "compare: put -- before the server command; see" \
                "green compare --help"
            ;;
        esac
        case $opt in
        --connections)
            [[ $value =~ ^[1-9][0-9]{0,6}(,[1-9][0-9]{0,6})*$ ]] ||
                usage_error "compare: --connections \"$value\" is not" \
                    "valid: expected counts from 1 to 9999999, separated" \
                    "by commas (e.g. 100,1000)"
            conns_list=$value
            ;;
        --duration)
            [[ $value =~ ^[1-9][0-9]{0,5}[smh]?$ ]] ||
                usage_error "compare: --duration \"$value\" is not valid:" \
                    "expected seconds, or a number with s, m or h (e.g. 10s)"
            duration=$value
            ;;
        --url)
            [[ $value == /* && $value != *[[:space:]]* ]] ||
                usage_error "compare: --url \"$value\" is not valid:" \
                    "expected a path that starts with / (e.g. /index.html)"
            url=$value
            ;;
        --output)
            [[ -n $value ]] ||
                usage_error "compare: --output \"\" is not valid: expected" \
                    "a path prefix for the .csv and .png files"
            output=$value
            ;;
        esac
    done
    IFS=, read -ra conns <<<"$conns_list"
    for c in "${conns[@]}"; do
        if ((c > max)); then
            max=$c
        fi
    done
    if (($(printf '%s\n' "${conns[@]}" | sort -u | wc -l) < ${#conns[@]})); then
        usage_error "compare: --connections \"$conns_list\" is not valid:" \
            "a count appears twice"
    fi
    if (($# == 0)); then
        usage_error "compare: no server command; see green compare --help"
    fi
    if [[ "$*" != *"{port}"* ]]; then
        usage_error "compare: the server command has no {port}: put it" \
            "where the server takes the port to listen on"
    fi
    for helper in wrk gnuplot ss; do
        command -v "$helper" >/dev/null ||
            g_die "compare needs $helper (Debian packages wrk," \
                "gnuplot-nox, iproute2)"
    done
    LIBGREEN=$(find_libgreen) || g_die "cannot find libgreen.so"
    helper=$(find_file "$GREEN_HELPERDIR_REL" "$GREEN_HELPERDIR_ABS" \
        measure) || g_die "cannot find libgreen's measure helper"
    http_sh=$(find_file "$GREEN_HELPERDIR_REL" "$GREEN_HELPERDIR_ABS" \
        http.sh) || g_die "cannot find libgreen's http.sh"
    # shellcheck source=scripts/http.sh
    source "$http_sh"
    HTTP_MEASURE=$helper
    HTTP_DURATION=$duration
    HTTP_PATH=$url
    output=${output:-green-compare-$(date +%Y%m%d-%H%M%S)}
    csv=$output.csv
    png=$output.png
    # Checked now rather than after the runs; written at the end.
    { : >"$csv" && rm -f "$csv"; } || g_die "cannot write $csv"

    CMP_RUNS_TOTAL=$((${#conns[@]} * 2))
    CMP_RUN_SECONDS=$(http_seconds "$duration")
    HTTP_DIR=$(mktemp -d)
    trap cmp_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    http_raise_limits "$max"

    for c in "${conns[@]}"; do
        cmp_run threaded "$c" "$@"
        cmp_run green "$c" "$@"
    done
    cmp_csv "${conns[@]}" >"$csv"
    for c in "${conns[@]}"; do
        for value in threaded green; do
            [[ -z $(http_get "$value-$c" failed) ]] || failed=$((failed + 1))
        done
    done

    echo "green compare: $*"
    echo "each run a fresh server under wrk -c CONNECTIONS" \
        "-d$duration --latency http://127.0.0.1:PORT$url"
    cmp_table "$csv"
    echo
    echo "csv:   $(readlink -f "$csv")"
    if ((failed == CMP_RUNS_TOTAL)); then
        g_log "no run succeeded: no chart"
    elif cmp_chart "$csv" "$png" "$*"; then
        echo "chart: $(readlink -f "$png")"
    else
        g_die "no chart"
    fi
    if ((failed > 0)); then
        g_die "$failed of $CMP_RUNS_TOTAL runs failed; see above"
    fi
}
