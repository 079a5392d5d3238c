# Shared helpers for the client test scripts in this directory.  Source it
# from a script (bash); it never runs anything by itself.
#
#   . "$(dirname "$0")/common.sh"
#   client_init "$@"            # module path, counters, temp dir, traps
#   need_program pkcs11-tool    # exit 77 when the main client is missing
#   token_setup                 # fresh token: label $LABEL, SO PIN, user PIN
#   ...  step / check / skip ...
#   finish                      # "N passed, M failed", exit status
#
# The token under test is Craton unless the module looks like SoftHSMv2
# (its file name contains "softhsm") or CLIENT_TOKEN=softhsm is set; then a
# temp SOFTHSM2_CONF is used instead of a Craton config.  CLIENT_TOKEN=craton
# forces the Craton set-up for a module of any name.
#
# Knobs: CLIENT_KEEP=1 keeps the temp dir; CLIENT_VERBOSE=1 prints every
# step's log, not only failing ones; CLIENT_NO_NETNS=1 stays in the current
# network namespace.

LABEL=${TOKEN_LABEL:-clienttest}
SO_PIN=${SO_PIN:-12345678}
PIN=${USER_PIN:-123456}

PASS=0
FAIL=0
SKIP=0
N=0
BG_PIDS=()
WORK=
LOG=/dev/null

# ---- TAP output ------------------------------------------------------------

# show_log FILE: the last lines of a step's output, as TAP comments.
show_log() {
    [ -n "${1:-}" ] && [ -s "$1" ] || return 0
    if grep -Eq '==ERROR: [A-Za-z]+Sanitizer|runtime error:' "$1"; then
        # A sanitizer report: its head (what, where), not the shadow bytes.
        grep -E -A "${CLIENT_LOG_LINES:-25}" -m 1 '==ERROR: [A-Za-z]+Sanitizer|runtime error:' "$1" |
            head -n "${CLIENT_LOG_LINES:-25}" | sed 's/^/#   /'
    else
        tail -n "${CLIENT_LOG_LINES:-25}" "$1" | sed 's/^/#   /'
    fi
}

ok() {
    N=$((N + 1)); PASS=$((PASS + 1)); echo "ok $N - $1"
    if [ -n "${CLIENT_VERBOSE:-}" ]; then show_log "${2:-}"; fi
}
notok() {
    N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N - $1"
    show_log "${2:-}"
}
# skip DESC REASON
skip() { N=$((N + 1)); SKIP=$((SKIP + 1)); echo "ok $N - $1 # SKIP $2"; }

# A new log file per step, under $WORK/logs; $LOG names the current one.
new_log() {
    LOG="$WORK/logs/$(printf '%03d' $((N + 1))).log"
    : >"$LOG"
}

# step DESC CMD...: run CMD with its output in $LOG; pass when it exits 0.
# Returns CMD's status, so a caller can act on it.  Clients never get a
# terminal to prompt on: stdin is /dev/null.
step() {
    local d=$1 rc=0; shift
    new_log
    "$@" >"$LOG" 2>&1 </dev/null || rc=$?
    if [ $rc -eq 0 ]; then ok "$d" "$LOG"; else notok "$d (exit $rc)" "$LOG"; fi
    grep '^# note:' "$LOG"
    return $rc
}

# step_fails DESC CMD...: pass when CMD exits non-zero (a negative control).
step_fails() {
    local d=$1 rc=0; shift
    new_log
    "$@" >"$LOG" 2>&1 </dev/null || rc=$?
    if [ $rc -ne 0 ]; then ok "$d" "$LOG"; else notok "$d (unexpectedly succeeded)" "$LOG"; fi
    [ $rc -ne 0 ]
}

# check DESC CMD...: a predicate on files already made (cmp, same_pubkey...);
# pass when it exits 0, its output (if any) shown on failure.
check() {
    local d=$1 rc=0; shift
    new_log
    "$@" >"$LOG" 2>&1 || rc=$?
    if [ $rc -eq 0 ]; then ok "$d"; else notok "$d" "$LOG"; fi
    return $rc
}

# grep_log DESC PATTERN [FILE]: pass when the extended regex PATTERN occurs
# in FILE (default: the last step's log).
grep_log() {
    local d=$1 pat=$2 f=${3:-$LOG}
    if grep -Eq -- "$pat" "$f"; then ok "$d"; else notok "$d (no /$pat/ in output)" "$f"; fi
}

finish() {
    [ $SKIP -eq 0 ] || echo "# $SKIP skipped"
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ] && exit 0
    exit 1
}

# bail DESC: a set-up step failed and nothing after it can work.
bail() {
    echo "# bailing out: $1"
    finish
}

# ---- environment -----------------------------------------------------------

have() { command -v "$1" >/dev/null 2>&1; }

# need_program PROG...: exit 77 (ctest skip) when one is missing.
need_program() {
    local p
    for p in "$@"; do
        if ! have "$p"; then
            echo "# $p is not installed: skipping $(basename "$0")" >&2
            echo "# SKIP $p not installed"
            exit 77
        fi
    done
}

# missing PROG...: print the first missing program; status 0 when one is.
missing() {
    local p
    for p in "$@"; do
        if ! have "$p"; then echo "$p"; return 0; fi
    done
    return 1
}

cleanup() {
    local rc=$? p
    trap - EXIT INT TERM HUP
    for p in "${BG_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${BG_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ -n "${CLIENT_KEEP:-}" ]; then
            echo "# kept $WORK" >&2
        else
            rm -rf "$WORK"
        fi
    fi
    return $rc
}

# Run the whole script again inside a private network namespace (loopback
# only) when that works, so TLS servers never listen on a shared network.
# Call first thing in a script, with the script's own arguments.
enter_private_netns() {
    if [ -n "${CLIENT_NETNS:-}" ] || [ -n "${CLIENT_NO_NETNS:-}" ]; then return 0; fi
    local how
    if have unshare && have ip; then
        # As root a plain network namespace; otherwise one inside a user
        # namespace where we are root, when the kernel allows that.
        for how in -n -rn; do
            if unshare $how sh -c 'ip link set lo up' >/dev/null 2>&1; then
                export CLIENT_NETNS=private
                exec unshare $how bash -c 'ip link set lo up && exec bash "$@"' bash "$0" "$@"
            fi
        done
    fi
    export CLIENT_NETNS=shared
}

# client_init "$@": module path from $1 or $CRATON_MODULE, temp dir, traps.
client_init() {
    MODULE=${1:-${CRATON_MODULE:-}}
    if [ -z "$MODULE" ] || [ ! -f "$MODULE" ]; then
        echo "usage: $0 /path/to/pkcs11-module.so (or CRATON_MODULE)" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
    MODULE=$(readlink -f "$MODULE")
    case "${CLIENT_TOKEN:-auto}" in
        softhsm) TOKEN_KIND=softhsm ;;
        craton) TOKEN_KIND=craton ;;
        *) case "$(basename "$MODULE")" in
               *softhsm*) TOKEN_KIND=softhsm ;;
               *) TOKEN_KIND=craton ;;
           esac ;;
    esac
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/craton-$(basename "$0" .sh)-XXXXXX")
    mkdir -p "$WORK/logs"
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    echo "# module: $MODULE ($TOKEN_KIND), network: ${CLIENT_NETNS:-shared}"

    # An ASan/UBSan build of the module needs its runtimes preloaded into the
    # uninstrumented clients; the clients' own leaks are not ours.
    local rt lib pre=
    for rt in libasan libubsan; do
        lib=$(ldd "$MODULE" 2>/dev/null | awk -v rt="$rt" '$1 ~ "^" rt "\\.so" {print $3}')
        [ -z "$lib" ] || pre=${pre:+$pre:}$lib
    done
    ASAN_PRELOADED=
    if [ -n "$pre" ]; then
        ASAN_PRELOADED=$pre
        export LD_PRELOAD=${LD_PRELOAD:+$LD_PRELOAD:}$pre
        export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:handle_segv=0:allow_user_segv_handler=1"
    fi
}

# ---- the token ---------------------------------------------------------------

# p11 ARGS...: pkcs11-tool on the module under test.
p11() { pkcs11-tool --module "$MODULE" "$@"; }
# tok ARGS...: the same, on our token, logged in as the user.
tok() { pkcs11-tool --module "$MODULE" --token-label "$LABEL" --login --pin "$PIN" "$@"; }

# token_setup: a fresh token labelled $LABEL with SO PIN $SO_PIN and user PIN
# $PIN, in $WORK.  Emits two TAP lines; bails out when they fail.
token_setup() {
    mkdir -m 0700 "$WORK/tokens"
    if [ "$TOKEN_KIND" = softhsm ]; then
        cat >"$WORK/softhsm2.conf" <<EOF
directories.tokendir = $WORK/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
        export SOFTHSM2_CONF="$WORK/softhsm2.conf"
    else
        cat >"$WORK/craton.conf" <<EOF
[store]
token_dir = $WORK/tokens
exclusive = false
[pin]
pbkdf2_iterations = 1000
[log]
level = error
EOF
        export CRATON_CONFIG="$WORK/craton.conf"
        export CRATON_TOKEN_DIR="$WORK/tokens"
    fi
    # The only slot of a fresh token dir holds the free token.
    step "initialise the token '$LABEL' (pkcs11-tool --init-token)" \
        p11 --slot-index 0 --init-token --label "$LABEL" --so-pin "$SO_PIN" ||
        bail "no token"
    step "set the user PIN (pkcs11-tool --init-pin as SO)" \
        p11 --token-label "$LABEL" --login --login-type so --so-pin "$SO_PIN" \
            --init-pin --pin "$PIN" ||
        bail "no user PIN"
}

# token_slot_id: the decimal slot ID holding our token.
token_slot_id() {
    local hex
    hex=$(p11 --list-slots 2>/dev/null | awk -v l="$LABEL" '
        /^Slot [0-9]+ \(0x[0-9a-fA-F]+\)/ { s = $3; gsub(/[():]/, "", s) }
        $1 == "token" && $2 == "label" { sub(/^[^:]*: */, ""); if ($0 == l) { print s; exit } }')
    [ -n "$hex" ] && echo $((hex))
}

# uri_key OBJECT-LABEL [TYPE]: an RFC 7512 URI for a key on our token.
uri_key() { echo "pkcs11:token=$LABEL;object=$1;type=${2:-private}"; }

# export_pubkey ID PEM: the public key with CKA_ID ID, read from the token
# (no login) by pkcs11-tool and converted to PEM by openssl.  EC keys are
# assembled here from CKA_EC_PARAMS and CKA_EC_POINT as printed by
# pkcs11-tool -O: its own EC conversion (OpenSC 0.23 --read-object) reads
# freed memory, which an ASan run of the module catches.
export_pubkey() {
    local id=$1 out=$2 info params point spki
    # The listing block (one per object, unindented first line) whose ID is ours.
    info=$(p11 --token-label "$LABEL" --list-objects --type pubkey 2>&1) || {
        echo "$info"; return 1; }
    info=$(awk -v id="$id" '
        /^[^ \t]/ { if (mine) print blk; blk = $0; mine = 0; next }
        { blk = blk "\n" $0 }
        $1 == "ID:" && tolower($2) == tolower(id) { mine = 1 }
        END { if (mine) print blk }' <<<"$info")
    [ -n "$info" ] || { echo "no public key with ID $id"; return 1; }
    if ! grep -q "EC_POINT:" <<<"$info"; then
        p11 --token-label "$LABEL" --read-object --type pubkey --id "$id" \
            -o "$WORK/pub-$id.der" &&
            openssl pkey -pubin -inform DER -in "$WORK/pub-$id.der" -out "$out"
        return
    fi
    params=$(awk '$1 == "EC_PARAMS:" {print $2}' <<<"$info")
    point=$(awk '$1 == "EC_POINT:" {print $2}' <<<"$info")
    point=$(der_unwrap_octets "$point")
    if [ -z "$params" ] || [ -z "$point" ]; then echo "$info"; return 1; fi
    # SubjectPublicKeyInfo { { id-ecPublicKey, params }, BIT STRING point }
    spki=$(der 30 "$(der 30 "06072a8648ce3d0201$params")$(der 03 "00$point")")
    xxd -r -p <<<"$spki" >"$WORK/pub-$id.der" &&
        openssl pkey -pubin -inform DER -in "$WORK/pub-$id.der" -out "$out"
}
# der TAG HEX: a DER TLV, in hex.
der() {
    local n=$((${#2} / 2)) len
    if [ $n -lt 128 ]; then len=$(printf '%02x' $n)
    elif [ $n -lt 256 ]; then len=$(printf '81%02x' $n)
    else len=$(printf '82%04x' $n); fi
    printf '%s%s%s' "$1" "$len" "$2"
}
# der_unwrap_octets HEX: the contents of a DER OCTET STRING, or HEX itself
# when it is not one (a raw EC point, accepted by the spec on input).
der_unwrap_octets() {
    local h=$1 l body
    case $h in
        0481*) l=$((16#${h:4:2})); body=${h:6} ;;
        0482*) l=$((16#${h:4:4})); body=${h:8} ;;
        04*) l=$((16#${h:2:2})); body=${h:4} ;;
        *) echo "$h"; return ;;
    esac
    if [ $((${#body} / 2)) -eq "$l" ]; then echo "$body"; else echo "$h"; fi
}

# same_pubkey A B: two files (PEM public keys or certificates) hold the same
# public key.
same_pubkey() {
    local a b
    a=$(spki_of "$1") && b=$(spki_of "$2") && [ -n "$a" ] && [ "$a" = "$b" ]
}
spki_of() {
    if grep -q "BEGIN CERTIFICATE" "$1" 2>/dev/null; then
        openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | od -An -tx1 | tr -d ' \n'
    else
        openssl pkey -pubin -in "$1" -outform DER | od -An -tx1 | tr -d ' \n'
    fi
}

# ---- background servers and ports --------------------------------------------

# bg PROGRAM ARGS...: start an external PROGRAM (not a shell function) in the
# background, output in $LOG, and remember its pid for the cleanup; $BG is
# the pid.  A timeout guards against leftovers.
bg() {
    timeout --signal=TERM --kill-after=5 "${CLIENT_SERVER_TIMEOUT:-150}" "$@" >"$LOG" 2>&1 &
    BG=$!
    BG_PIDS+=("$BG")
}

# stop PID: end a background server we started.
stop() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

listening() {
    if have ss; then
        ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# free_port: a random unused TCP port in 20000..59999.
free_port() {
    local i p
    for i in $(seq 50); do
        p=$(shuf -i 20000-59999 -n 1)
        if ! listening "$p"; then echo "$p"; return 0; fi
    done
    return 1
}

# wait_port PORT PID [SECONDS]: wait until PORT listens while PID lives.
wait_port() {
    local port=$1 pid=$2 t=$((${3:-20} * 10))
    while [ $t -gt 0 ]; do
        listening "$port" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
        t=$((t - 1))
    done
    return 1
}

# rand_token: a random word the TLS checks look for in a client's output.
rand_token() { echo "craton-$(openssl rand -hex 8)"; }
