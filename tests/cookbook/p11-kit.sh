#!/usr/bin/env bash
# Cookbook recipe "p11-kit": with craton.module in p11-kit's module directory,
# `p11-kit list-modules`, GnuTLS (p11tool with no --provider) and p11-kit-proxy.so see the
# token with no further set-up (docs/cookbook.md).
#
# The test never touches the system's p11-kit configuration: it runs in a private mount
# namespace (unshare -m as root, unshare -rm otherwise) where a temp directory is mounted
# over p11-kit's module directory; the module file there is cmake/craton.module.in filled
# in as `cmake --install` fills it, for the module under test. Without namespaces, a
# non-root user's ~/.config/pkcs11/modules (a temp HOME) is used instead; p11-kit ignores
# that directory for root.
#   usage: p11-kit.sh /path/to/libcraton.so
#   exit 77 when p11-kit, p11tool, pkcs11-tool or pkg-config is missing, or no private
#   module directory can be had
set -u
. "$(dirname "$0")/recipe.sh"
need_program p11-kit p11tool pkcs11-tool pkg-config
SYSDIR=$(pkg-config --variable p11_module_configs p11-kit-1)
SYSDIR=${SYSDIR:-/usr/share/p11-kit/modules}
if [ -z "${COOKBOOK_P11KIT_DIR:-}" ]; then
    D=$(mktemp -d "${TMPDIR:-/tmp}/craton-p11kit-modules-XXXXXX")
    export COOKBOOK_P11KIT_DIR=$D
    for how in -m -rm; do
        if [ -d "$SYSDIR" ] && unshare $how sh -c 'mount --bind "$1" "$2"' sh "$D" "$SYSDIR" 2>/dev/null; then
            unshare $how bash -c 'mount --bind "$1" "$2" && shift 2 && exec bash "$@"' \
                bash "$D" "$SYSDIR" "$0" "$@"
            rc=$?
            rm -rf "$D"
            exit $rc
        fi
    done
    if [ "$(id -u)" = 0 ]; then
        rm -rf "$D"
        echo "# SKIP no private mount namespace, and p11-kit reads no user module directory for root"
        exit 77
    fi
    export COOKBOOK_P11KIT_HOME=$D
fi
recipe_init "$@"
if [ -n "${COOKBOOK_P11KIT_HOME:-}" ]; then
    export HOME=$COOKBOOK_P11KIT_HOME XDG_CONFIG_HOME=$COOKBOOK_P11KIT_HOME/.config
    MODDIR=$HOME/.config/pkcs11/modules
    mkdir -p "$MODDIR"
    trap 'cleanup; rm -rf "$COOKBOOK_P11KIT_HOME"' EXIT
else
    MODDIR=$SYSDIR
    check "p11-kit's module directory is the private one" \
        test "$(stat -c %d:%i "$MODDIR")" = "$(stat -c %d:%i "$COOKBOOK_P11KIT_DIR")" ||
        bail "not in a private mount namespace"
fi
sed -e "s|@module@|$MODULE|" -e "s|@CRATON_P11KIT_PRIORITY@|0|" \
    "$COOKBOOK_DIR/../../cmake/craton.module.in" >"$MODDIR/craton.module"
check "craton.module in $MODDIR" test -s "$MODDIR/craton.module"
recipe_token
step "a key on the token" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" \
        --keypairgen --key-type EC:prime256v1 --id 01 --label p11kit-ec

# ---- recipe ----
step "p11-kit list-modules" p11-kit list-modules
grep_log "... module craton" "^craton: $MODULE\$"
grep_log "... its token demo" "^ +token: demo\$"
step "GnuTLS sees the token, with no --provider" p11tool --list-tokens
grep_log "... token=demo" "URL: pkcs11:.*token=demo"
export GNUTLS_PIN=$PIN
step "GnuTLS lists its private key" p11tool --login --list-privkeys "pkcs11:token=demo"
grep_log "... object=p11kit-ec" "object=p11kit-ec"
PROXY=$(pkg-config --variable proxy_module p11-kit-1)
step "pkcs11-tool through p11-kit-proxy.so" pkcs11-tool --module "$PROXY" --list-slots
grep_log "... token demo" "token label +: demo\$"
echo "hello from the token" >data.txt
step "... signs with the token key" \
    pkcs11-tool --module "$PROXY" --token-label demo --login --pin "$PIN" \
        --sign --mechanism ECDSA-SHA256 --label p11kit-ec --input-file data.txt --output-file data.sig
# ---- end of recipe ----
finish
