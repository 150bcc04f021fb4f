# scripts/http.sh: helpers shared by scripts/demo (its http demo),
# scripts/bench-http and `green compare` (scripts/green.in). Sourced after
# scripts/lib.sh (or, by green, after its own g_log), never run. meson
# copies it to build/scripts/ and installs it beside measure, for green.
#
# One run (http_run) starts one server on a free port under
# build/scripts/measure, drives it with wrk, then stops it, so that the peak
# RSS and the peak thread count measure belong to that run alone. Every
# server started is killed again, whatever happens: when its run ends, or
# from http_kill_all, which the callers' EXIT trap calls.
#
# The caller sets HTTP_DIR, a directory for the files of each run, and may
# set HTTP_MEASURE (the measure program) and HTTP_PATH (the URL path wrk
# asks for) after sourcing this file.
#
# Environment: HTTP_DURATION (5s, as wrk's -d), HTTP_START_TIMEOUT (10
# seconds for a server to say it is listening), HTTP_STOP_TIMEOUT (5
# seconds between SIGTERM and SIGKILL), HTTP_SERVER_CPUS and HTTP_WRK_CPUS
# (taskset -c lists that pin the server and wrk; empty: not pinned; wrk
# then runs one thread per CPU of its list).

HTTP_MEASURE=build/scripts/measure
HTTP_PATH=/
HTTP_DURATION=${HTTP_DURATION:-5s}
HTTP_START_TIMEOUT=${HTTP_START_TIMEOUT:-10}
HTTP_STOP_TIMEOUT=${HTTP_STOP_TIMEOUT:-5}
HTTP_SERVER_CPUS=${HTTP_SERVER_CPUS:-}
HTTP_WRK_CPUS=${HTTP_WRK_CPUS:-}
HTTP_WRK_THREADS=2
HTTP_DIR=

# The measure process, the server and the wrk (its timeout) of the run in
# progress, if any.
HTTP_MEASURE_PID=
HTTP_SERVER_PID=
HTTP_WRK_PID=

# awk functions that format what http_run reports, for the callers' tables.
# shellcheck disable=SC2034 # used by the scripts that source this file
HTTP_AWK_FORMAT='
    function fmt_rps(v) { return sprintf("%.0f", v) }
    function fmt_ms(v) {
        if (v >= 1000)
            return sprintf("%.2f s", v / 1000)
        return sprintf(v >= 10 ? "%.0f ms" : "%.2f ms", v)
    }
    function fmt_kb(v) { return sprintf("%.1f MiB", v / 1024) }
    function fmt_x(a, b) { return (b > 0) ? sprintf("%.2fx", a / b) : "-" }
'

# http_cpu_count LIST: how many CPUs a taskset -c list (0,2-3) names.
http_cpu_count()
{
    local part n=0
    local parts=()

    IFS=, read -ra parts <<<"$1"
    for part in "${parts[@]}"; do
        if [[ $part == *-* ]]; then
            n=$((n + ${part#*-} - ${part%-*} + 1))
        else
            n=$((n + 1))
        fi
    done
    echo "$n"
}

if [[ -n $HTTP_WRK_CPUS ]]; then
    HTTP_WRK_THREADS=$(http_cpu_count "$HTTP_WRK_CPUS")
fi

# pinned LIST COMMAND...: COMMAND, under taskset -c LIST if LIST is not
# empty (taskset execs it: the pid stays COMMAND's).
pinned()
{
    local cpus=$1

    shift
    if [[ -n $cpus ]]; then
        exec taskset -c "$cpus" "$@"
    fi
    exec "$@"
}

# http_raise_limits CONNECTIONS: raises the soft limits on open files and
# processes to the hard ones, for the servers and for wrk, which all inherit
# them. Warns if even the hard limit on files is below what CONNECTIONS
# connections take.
http_raise_limits()
{
    ulimit -n "$(ulimit -Hn)"
    ulimit -u "$(ulimit -Hu)"
    if [[ $(ulimit -n) != unlimited ]] && (($(ulimit -n) < $1 + 64)); then
        g_log "ulimit -n is $(ulimit -n): too low for $1 connections"
    fi
}

# http_seconds DURATION: wrk's duration (10, 10s, 2m, 1h) in seconds.
http_seconds()
{
    local d=$1

    case $d in
    *s) echo "${d%s}" ;;
    *m) echo $((${d%m} * 60)) ;;
    *h) echo $((${d%h} * 3600)) ;;
    *) echo "$d" ;;
    esac
}

# http_get NAME KEY: one value of run NAME's results (empty if it has none).
http_get()
{
    sed -n "s/^$2=//p" "$HTTP_DIR/$1.res"
}

# http_summary NAME: run NAME's "RPS P99_MS RSS_KB THREADS", or
# "failed - - -".
http_summary()
{
    if [[ -n $(http_get "$1" failed) ]]; then
        echo "failed - - -"
    else
        echo "$(http_get "$1" rps) $(http_get "$1" p99_ms)" \
            "$(http_get "$1" maxrss_kb) $(http_get "$1" peak_threads)"
    fi
}

# alive PID: true while PID exists.
alive()
{
    kill -0 "$1" 2>/dev/null
}

# send_signal SIG MEASURE_PID SERVER_PID: sends SIG to the server, or to
# measure if it has no child yet. Only while measure lives: until measure has
# reaped it, the server's pid cannot have been reused.
send_signal()
{
    if alive "$2"; then
        kill "-$1" "${3:-$2}" 2>/dev/null || true
    fi
}

# stop MEASURE_PID SERVER_PID: SIGTERM to the server, SIGKILL if it is still
# there after HTTP_STOP_TIMEOUT seconds, then reaps measure, which writes
# its report as the server goes.
stop()
{
    local i

    send_signal TERM "$1" "$2"
    for ((i = 0; i < HTTP_STOP_TIMEOUT * 10; i++)); do
        alive "$1" || break
        sleep 0.1
    done
    send_signal KILL "$1" "$2"
    wait "$1" 2>/dev/null || true
}

# http_kill_all: stops the wrk and the server of the run in progress, if
# there is one; for the callers' EXIT trap.
http_kill_all()
{
    if [[ -n $HTTP_WRK_PID ]]; then
        kill -TERM "$HTTP_WRK_PID" 2>/dev/null || true
        wait "$HTTP_WRK_PID" 2>/dev/null || true
        HTTP_WRK_PID=
    fi
    if [[ -n $HTTP_MEASURE_PID ]]; then
        stop "$HTTP_MEASURE_PID" "$HTTP_SERVER_PID"
    fi
    HTTP_MEASURE_PID=
    HTTP_SERVER_PID=
}

# wait_port MEASURE_PID OUT: waits for "listening on PORT" in OUT and prints
# PORT; fails if the server exits or stays silent for HTTP_START_TIMEOUT s.
wait_port()
{
    local i port

    for ((i = 0; i < HTTP_START_TIMEOUT * 10; i++)); do
        port=$(sed -n 's/^listening on \([0-9]*\)$/\1/p' "$2")
        if [[ -n $port ]]; then
            echo "$port"
            return 0
        fi
        alive "$1" || return 1
        sleep 0.1
    done
    return 1
}

# wait_listening MEASURE_PID PORT: waits until a socket listens on TCP port
# PORT; fails if the server exits or HTTP_START_TIMEOUT seconds pass first.
# For servers that print nothing when they are ready.
wait_listening()
{
    local i

    for ((i = 0; i < HTTP_START_TIMEOUT * 10; i++)); do
        if [[ -n $(ss -Hltn "( sport = :$2 )") ]]; then
            return 0
        fi
        alive "$1" || return 1
        sleep 0.1
    done
    return 1
}

# http_free_port: prints a TCP port that no socket uses, in any state
# (TIME_WAIT included), or fails. It is taken outside the kernel's range of
# ephemeral ports when that leaves room, so that no connection, wrk's
# included, is given it as its local port before the server binds it.
http_free_port()
{
    local lo hi base span p i

    read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
    if ((lo - 10000 >= 1000)); then
        base=10000 span=$((lo - 10000))
    elif ((65535 - hi >= 1000)); then
        base=$((hi + 1)) span=$((65535 - hi))
    else
        base=1024 span=$((65536 - 1024))
    fi
    for ((i = 0; i < 100; i++)); do
        p=$((base + (RANDOM * 32768 + RANDOM) % span))
        if [[ -z $(ss -Htan "( sport = :$p )") ]]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# wrk_results FILE: wrk --latency's report as key=value lines: rps, p50_ms,
# p99_ms, requests, non2xx, and errors (its "Socket errors:" line, if any).
wrk_results()
{
    awk '
        # A latency as wrk prints it ("812.00us", "1.20ms", "2.01s"), in ms.
        function ms(v, unit) {
            unit = v
            sub(/^[0-9.]+/, "", unit)
            v += 0
            if (unit == "us")
                return v / 1000
            if (unit == "s")
                return v * 1000
            if (unit == "m")
                return v * 60000
            if (unit == "h")
                return v * 3600000
            return v
        }
        /^Requests\/sec:/ { rps = $2 }
        / requests in / { requests = $1 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { non2xx = $NF }
        /Socket errors:/ { sub(/^ *Socket errors: */, ""); errors = $0 }
        END {
            printf "rps=%s\np50_ms=%s\np99_ms=%s\nrequests=%d\nnon2xx=%d\n",
                rps + 0, p50 + 0, p99 + 0, requests, non2xx
            if (errors != "")
                printf "errors=%s\n", errors
        }' "$1"
}

# now_ds: the time in tenths of a second.
now_ds()
{
    local us=${EPOCHREALTIME/./}

    echo $((us / 100000))
}

# answered PORT: "ANSWERED OPEN", the client connections to PORT that are
# open, and how many of them have received a byte.
answered()
{
    ss -HtniO state established "( dport = :$1 )" |
        awk '/ bytes_received:/ { n++ } END { print n + 0, NR }'
}

# check_answered PORT CONNECTIONS START SECONDS: from three fifths to four
# fifths into a run of SECONDS that began at START (now_ds), counts the
# connections that had a response, until all CONNECTIONS had. Prints
# "answered=N", "open=N" and "answered_ds=N" (tenths of a second into the
# run) lines for the last count. wrk cannot tell: it
# counts only the requests that got an answer, so a server that serves a few
# connections and starves the rest still shows a fine rate and latency.
# Each count (ss on every socket) takes a tenth of a second or more of CPU,
# so the first one often has to do.
check_answered()
{
    local first=$(($3 + $4 * 6)) last=$(($3 + $4 * 8)) counts=(0 0) t

    while (($(now_ds) < first)); do
        sleep 0.1
    done
    while :; do
        read -ra counts <<<"$(answered "$1")"
        t=$(now_ds)
        if ((counts[0] >= $2 || t >= last)); then
            break
        fi
        sleep 0.1
    done
    printf 'answered=%s\nopen=%s\nanswered_ds=%s\n' "${counts[0]}" \
        "${counts[1]}" $((t - $3))
}

# fail NAME WHY...: records why run NAME failed and says so.
fail()
{
    echo "failed=${*:2}" >>"$HTTP_DIR/$1.res"
    g_log "$1: ${*:2}"
}

# http_run NAME CONNECTIONS [VAR=VALUE]... -- SERVER [ARG]...: one run.
# Starts SERVER with its ARGs and the VAR=VALUE environment under measure,
# waits until it listens, runs wrk with CONNECTIONS connections for
# HTTP_DURATION on HTTP_PATH, and stops the server. The port: if SERVER or
# an ARG contains "{port}", each "{port}" becomes a free port
# (http_free_port) and the server is ready once a socket listens there;
# otherwise SERVER gets one more argument, 0, and is ready once it prints
# "listening on PORT", as the demo's servers do. Leaves in
# $HTTP_DIR/NAME.res the key=value results (http_get): those of
# wrk_results and check_answered, peak_threads and maxrss_kb from measure,
# and failed=WHY if the server never listened, died, hung, or left
# connections or requests unanswered (unless HTTP_STARVING_OK is set: a
# native thread-per-connection server may leave some connections waiting
# for the kernel's scheduler, and that is what it measures, not a failure). The server's stdout and stderr go to
# NAME.out and NAME.err, wrk's report to NAME.wrk. Always returns 0.
http_run()
{
    local name=$1 conns=$2 env=() cmd=() secs start port='' mpid t rc=0 died=0
    local res=$HTTP_DIR/$1.res threads

    shift 2
    while [[ $1 != -- ]]; do
        env+=(-e "$1")
        shift
    done
    shift
    secs=$(http_seconds "$HTTP_DURATION")
    : >"$res"
    if [[ "$*" == *"{port}"* ]]; then
        if ! port=$(http_free_port); then
            fail "$name" "found no free port"
            return 0
        fi
        cmd=("${@//\{port\}/$port}")
    else
        cmd=("$@" 0)
    fi
    # Created here, so that wait_port can read the first at once.
    : >"$HTTP_DIR/$name.out"
    : >"$HTTP_DIR/$name.err"
    (pinned "$HTTP_SERVER_CPUS" "$HTTP_MEASURE" -o "$HTTP_DIR/$name.stat" \
        -i 10000 -t $((HTTP_START_TIMEOUT + secs + 120)) "${env[@]}" -- \
        "${cmd[@]}") >"$HTTP_DIR/$name.out" 2>"$HTTP_DIR/$name.err" &
    mpid=$!
    HTTP_MEASURE_PID=$mpid
    if [[ -n $port ]]; then
        wait_listening "$mpid" "$port" || port=
    else
        port=$(wait_port "$mpid" "$HTTP_DIR/$name.out") || port=
    fi
    # By now measure has forked, and its one child is the server.
    { read -r HTTP_SERVER_PID _ <"/proc/$mpid/task/$mpid/children"; } \
        2>/dev/null || true
    if [[ -z $port ]]; then
        http_kill_all
        fail "$name" "server did not start listening; stderr:" \
            "$(head -c 300 "$HTTP_DIR/$name.err")"
        return 0
    fi

    # wrk stops by itself after the duration; the timeout is for a wrk
    # stuck on a server that hangs. Connecting 10,000 takes a few seconds.
    # wrk wants at least one connection per thread.
    threads=$((conns < HTTP_WRK_THREADS ? conns : HTTP_WRK_THREADS))
    (pinned "$HTTP_WRK_CPUS" timeout -k 5 $((secs + 30)) wrk -t "$threads" \
        -c "$conns" -d "$HTTP_DURATION" --latency \
        "http://127.0.0.1:$port$HTTP_PATH") >"$HTTP_DIR/$name.wrk" 2>&1 &
    HTTP_WRK_PID=$!
    start=$(now_ds)
    check_answered "$port" "$conns" "$start" "$secs" >>"$res"
    wait "$HTTP_WRK_PID" || rc=$?
    HTTP_WRK_PID=
    wrk_results "$HTTP_DIR/$name.wrk" >>"$res"
    alive "$mpid" || died=1
    http_kill_all
    sed -n '/^\(peak_threads\|maxrss_kb\)=/p' "$HTTP_DIR/$name.stat" >>"$res"
    if ((died)); then
        fail "$name" "server died during the run (exit" \
            "$(sed -n 's/^exit=//p' "$HTTP_DIR/$name.stat")); stderr:" \
            "$(head -c 300 "$HTTP_DIR/$name.err")"
    elif ((rc == 124 || rc == 137)); then
        fail "$name" "wrk timed out: server hung"
    elif ((rc != 0)); then
        fail "$name" "wrk exited $rc: $(tail -n 3 "$HTTP_DIR/$name.wrk")"
    elif (($(http_get "$name" requests) == 0)); then
        fail "$name" "no request answered"
    elif (($(http_get "$name" non2xx) != 0)); then
        fail "$name" "$(http_get "$name" non2xx) responses were not 200"
    elif (($(http_get "$name" answered) < conns)); then
        t=$(http_get "$name" answered_ds)
        t="only $(http_get "$name" answered) of $conns connections ($(
            http_get "$name" open) open) had a response $((t / 10)).$((
            t % 10)) s into the run"
        if [[ -n ${HTTP_STARVING_OK:-} ]]; then
            g_log "$name: $t (the run counts: its kernel's scheduling)"
        else
            fail "$name" "$t"
        fi
    fi
    if [[ -n $(http_get "$name" errors) ]]; then
        g_log "$name: wrk socket errors: $(http_get "$name" errors)"
    fi
    return 0
}
