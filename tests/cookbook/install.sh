#!/usr/bin/env bash
# The install layout (docs/install.md): `cmake --install BUILD --prefix TMP` into a temp
# prefix, then every file is where the docs say, nothing lands outside the prefix, the
# pkg-config file gives the module path, the installed library loads (its integrity sidecar
# verifies) and the installed craton-util drives it, and p11-kit, with the installed module
# file as the content of its module directory (a private mount), lists the module and its
# token -- as do GnuTLS's p11tool and p11-kit-proxy.so. Last, when cpack and dpkg-deb are there, the .deb built by CPack.
#
#   usage: install.sh BUILD_DIR
#   env:   CRATON_LIBDIR CRATON_BINDIR CRATON_INCLUDEDIR CRATON_MANDIR CRATON_DOCDIR
#          CRATON_P11KIT_DIR (as configured: relative to the prefix, or absolute),
#          CRATON_HMAC (the built craton-hmac)
#
# TAP-like output, last line "N passed, M failed"; exit 0 without failures, 77 when cmake
# or pkg-config is missing; steps needing p11-kit, p11tool, cc, groff or cpack are skipped
# inside ("# SKIP") when those are missing.
set -u
. "$(dirname "$0")/../clients/common.sh"
need_program cmake pkg-config
BUILD=${1:-}
if [ -z "$BUILD" ] || [ ! -f "$BUILD/cmake_install.cmake" ]; then
    echo "usage: $0 BUILD_DIR (a configured and built build directory)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
BUILD=$(readlink -f "$BUILD")
client_init "$BUILD/src/libcraton.so"

PREFIX="$WORK/prefix"
# abs DIR: an install directory as configured, under $PREFIX when relative.
abs() { case $1 in /*) echo "$PREFIX$1" ;; *) echo "$PREFIX/$1" ;; esac; }
LIBDIR=$(abs "${CRATON_LIBDIR:-lib}")
BINDIR=$(abs "${CRATON_BINDIR:-bin}")
INCDIR=$(abs "${CRATON_INCLUDEDIR:-include}")
MANDIR=$(abs "${CRATON_MANDIR:-share/man}")
DOCDIR=$(abs "${CRATON_DOCDIR:-share/doc/craton}")
P11KITDIR=$(abs "${CRATON_P11KIT_DIR:-share/p11-kit/modules}")
LIB="$LIBDIR/pkcs11/libcraton.so"
# Paths inside the files are the prefix's, with no DESTDIR: an absolute CRATON_P11KIT_DIR
# is the one case where the staged path ($PREFIX/etc/...) differs from the real one.
echo "# prefix: $PREFIX"

# ---- cmake --install ------------------------------------------------------------------
step "cmake --install BUILD --prefix TMP" cmake --install "$BUILD" --prefix "$PREFIX" ||
    bail "install failed"
INSTALL_LOG=$LOG
check "every installed file is under the prefix" \
    sh -c '! grep -E "^-- (Installing|Up-to-date): " "$1" | grep -v -F -- "$2/"' sh "$INSTALL_LOG" "$PREFIX"
for f in "$LIB" "$LIB.hmac" "$BINDIR/craton-util" "$BINDIR/craton-audit" \
         "$INCDIR/craton/pkcs11.h" "$INCDIR/craton/pkcs11t.h" "$INCDIR/craton/pkcs11f.h" \
         "$LIBDIR/pkgconfig/craton.pc" "$P11KITDIR/craton.module" \
         "$MANDIR/man7/craton.7" "$MANDIR/man1/craton-util.1" \
         "$DOCDIR/craton.conf.example"; do
    check "installed: ${f#"$PREFIX"/}" test -f "$f"
done
check "craton-util and craton-audit are executable" test -x "$BINDIR/craton-util" -a -x "$BINDIR/craton-audit"
check "no configuration file is installed under etc/ (an admin's file is never overwritten)" \
    sh -c '! find "$1" -path "*/etc/craton*" | grep -q .' sh "$PREFIX"

# ---- pkg-config ---------------------------------------------------------------------------
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
step "pkg-config --validate craton" pkg-config --validate craton
step "pkg-config --variable module craton" pkg-config --variable module craton
check "... is the installed module: $LIB" test "$(cat "$LOG")" = "$LIB"
step "pkg-config --cflags craton" pkg-config --cflags craton
check "... is -I<includedir>/craton" test "$(cat "$LOG" | tr -d ' ')" = "-I$INCDIR/craton"
step "pkg-config --modversion craton" pkg-config --modversion craton
grep_log "... is a version number" '^[0-9]+\.[0-9]+\.[0-9]+$'
if have cc; then
    cat >"$WORK/hdr.c" <<'C'
#include <pkcs11.h>
int main(void) { CK_FUNCTION_LIST_3_0 *f = 0; CK_ULONG m = CKM_EDDSA; return f != 0 || m == 0; }
C
    step "a program compiles against the installed headers (cc \$(pkg-config --cflags craton))" \
        sh -c 'cc $(pkg-config --cflags craton) -c "$1" -o "$2"' sh "$WORK/hdr.c" "$WORK/hdr.o"
else
    skip "a program compiles against the installed headers" "cc not installed"
fi

# ---- the installed library -------------------------------------------------------------------
HMAC=${CRATON_HMAC:-$BUILD/src/craton-hmac}
if [ -x "$HMAC" ]; then
    step "craton-hmac --check: the installed sidecar matches the installed library" "$HMAC" --check "$LIB"
    grep_log "... says OK" ": OK\$"
else
    skip "craton-hmac --check on the installed library" "craton-hmac not built"
fi
mkdir -m 0700 "$WORK/tokens"
cat >"$WORK/craton.conf" <<CONF
[store]
token_dir = $WORK/tokens
[pin]
pbkdf2_iterations = 1000
[log]
level = error
CONF
export CRATON_CONFIG="$WORK/craton.conf" CRATON_TOKEN_DIR="$WORK/tokens"
UTIL="$BINDIR/craton-util"
step "the installed craton-util loads the installed module (show-slots)" "$UTIL" --module "$LIB" show-slots
grep_log "... and lists the free slot" "free"
echo "$SO_PIN" >"$WORK/so.pin"
echo "$PIN" >"$WORK/user.pin"
step "the installed craton-util initialises a token on the installed module" \
    "$UTIL" --module "$LIB" init-token --label installed --pin-file "$WORK/so.pin"
step "... and sets its user PIN" \
    "$UTIL" --module "$LIB" init-pin --token installed --pin-file "$WORK/so.pin" --new-pin-file "$WORK/user.pin"
step "craton-util config check with the installed tool" "$UTIL" config check
grep_log "... says the configuration is OK" "^configuration: OK"

# FIPS-approved-only mode requires the sidecar: the installed pair passes, a changed copy fails.
cat >"$WORK/fips.conf" <<CONF
[store]
token_dir = $WORK/tokens
[pin]
pbkdf2_iterations = 1000
[policy]
fips_approved_only = true
[log]
level = error
CONF
step "the installed module initialises in FIPS-approved-only mode (sidecar required and verified)" \
    env CRATON_CONFIG="$WORK/fips.conf" "$UTIL" --module "$LIB" show-slots
mkdir "$WORK/changed"
cp "$LIB" "$LIB.hmac" "$WORK/changed/"
printf '\0' >>"$WORK/changed/libcraton.so"
step_fails "a changed copy of the library with the old sidecar does not initialise" \
    "$UTIL" --module "$WORK/changed/libcraton.so" show-slots

# ---- man pages ---------------------------------------------------------------------------------
if have groff; then
    for m in "$MANDIR/man7/craton.7" "$MANDIR/man1/craton-util.1"; do
        step "man page $(basename "$m") formats without warnings (groff -man -ww)" \
            sh -c 'out=$(groff -man -ww -Tutf8 -z "$1" 2>&1); echo "$out"; [ -z "$out" ]' sh "$m"
    done
else
    skip "man pages format" "groff not installed"
fi

# ---- p11-kit -----------------------------------------------------------------------------------
check "craton.module names the installed module" grep -qx "module: $LIB" "$P11KITDIR/craton.module"
check "craton.module says critical: no" grep -qx "critical: no" "$P11KITDIR/craton.module"
if have p11-kit; then
    # p11-kit's module directory, with only the installed craton.module in it, as a private
    # mount (unshare -m as root, -rm otherwise) over the system's: the system's p11-kit
    # configuration is never touched. Without namespaces a non-root user's
    # ~/.config/pkcs11/modules (a temp HOME) serves; p11-kit ignores that one for root.
    SYSDIR=$(pkg-config --variable p11_module_configs p11-kit-1 2>/dev/null)
    SYSDIR=${SYSDIR:-/usr/share/p11-kit/modules}
    mkdir -p "$WORK/p11kit-modules"
    cp "$P11KITDIR/craton.module" "$WORK/p11kit-modules/"
    NS=
    for how in -m -rm; do
        if [ -d "$SYSDIR" ] && unshare $how sh -c 'mount --bind "$1" "$2"' sh "$WORK/p11kit-modules" "$SYSDIR" 2>/dev/null; then
            NS=$how; break
        fi
    done
    # in_p11kit CMD...: CMD seeing the installed module file as p11-kit's only module.
    in_p11kit() {
        if [ -n "$NS" ]; then
            unshare $NS sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh \
                "$WORK/p11kit-modules" "$SYSDIR" "$@"
        else
            mkdir -p "$WORK/home/.config/pkcs11"
            ln -sfn "$WORK/p11kit-modules" "$WORK/home/.config/pkcs11/modules"
            HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" "$@"
        fi
    }
    if [ -z "$NS" ] && [ "$(id -u)" = 0 ]; then
        skip "p11-kit sees the installed module file" "no private mount namespace, and p11-kit reads no user module directory for root"
    else
        step "p11-kit list-modules with the installed craton.module" in_p11kit p11-kit list-modules
        grep_log "p11-kit lists module 'craton' at the installed path" "^craton: $LIB\$"
        grep_log "... with its token 'installed'" "^ +token: installed\$"
        if have p11tool; then
            step "GnuTLS (p11tool --list-tokens) sees the token through p11-kit" in_p11kit p11tool --list-tokens
            grep_log "... 'installed' listed" "token=installed"
        else
            skip "GnuTLS sees the token through p11-kit" "p11tool not installed"
        fi
        PROXY=$(pkg-config --variable proxy_module p11-kit-1 2>/dev/null)
        if [ -n "$PROXY" ] && [ -f "$PROXY" ] && have pkcs11-tool; then
            step "pkcs11-tool through p11-kit-proxy.so lists the token" \
                in_p11kit pkcs11-tool --module "$PROXY" --list-slots
            grep_log "... 'installed' listed" "token label +: installed\$"
            step "... and logs in and generates a key through the proxy" \
                in_p11kit pkcs11-tool --module "$PROXY" --token-label installed --login --pin "$PIN" \
                    --keypairgen --key-type EC:prime256v1 --label viaproxy
        else
            skip "pkcs11-tool through p11-kit-proxy.so" "p11-kit-proxy.so or pkcs11-tool missing"
        fi
    fi
else
    skip "p11-kit list-modules sees the module" "p11-kit not installed"
fi

# ---- the .deb ----------------------------------------------------------------------------------
if have cpack && have dpkg-deb && [ -f "$BUILD/CPackConfig.cmake" ]; then
    step "cpack -G DEB builds a package" \
        cpack -G DEB -B "$WORK/deb" --config "$BUILD/CPackConfig.cmake"
    DEB=$(ls "$WORK"/deb/craton_*.deb 2>/dev/null | head -1)
    check "... craton_<version>_<arch>.deb" test -f "$DEB"
    step "dpkg-deb --info" dpkg-deb --info "${DEB:-/nonexistent}"
    grep_log "... depends on libssl3 and libsqlite3-0" "Depends:.*libssl3.*" 
    grep_log "... and on libsqlite3-0" "Depends:.*libsqlite3-0"
    mkdir "$WORK/debroot"
    step "dpkg-deb -x unpacks it" dpkg-deb -x "${DEB:-/nonexistent}" "$WORK/debroot"
    PKGLIB=$(find "$WORK/debroot" -path '*/pkcs11/libcraton.so' | head -1)
    check "... libcraton.so is in <libdir>/pkcs11 of the package" test -n "$PKGLIB"
    for f in craton-util craton-audit craton.module craton.pc craton.7 craton-util.1 craton.conf.example pkcs11.h; do
        check "... the package holds $f" sh -c 'find "$1" -name "$2*" | grep -q .' sh "$WORK/debroot" "$f"
    done
    check "... and nothing under /etc" test ! -e "$WORK/debroot/etc"
    if [ -x "$HMAC" ] && [ -n "$PKGLIB" ]; then
        step "... its sidecar matches its library" "$HMAC" --check "$PKGLIB"
    fi
    check "... its craton.pc has no staging path" \
        sh -c '! grep -r -e "_CPack_Packages" -e "$1" $(find "$2" -name craton.pc -o -name craton.module)' sh "$WORK" "$WORK/debroot"
else
    skip "a .deb built with CPack" "cpack or dpkg-deb missing"
fi

finish
