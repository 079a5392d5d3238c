# Shared set-up for the cookbook scripts (one per recipe in docs/cookbook.md). Source it
# after `set -u`; it sources ../clients/common.sh (step, check, grep_log, finish, ...).
#
# Each script runs its recipe's commands exactly as docs/cookbook.md prints them, in a
# fresh temp directory ($WORK, also the current directory) with a temp token directory
# and configuration (PBKDF2 at 1000 iterations so the tests are quick), the variables the
# cookbook's preamble sets (MODULE, SO_PIN, PIN) and, unless told otherwise, a token
# 'demo' made as the pkcs11-tool recipe makes it.
TOKEN_LABEL=demo
COOKBOOK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$(dirname "${BASH_SOURCE[0]}")/../clients/common.sh"

# recipe_init "$@": module, temp dir, config; cd into the temp dir.
recipe_init() {
    client_init "$@"
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
    # The cookbook's preamble.
    SO_PIN=12345678
    PIN=123456
    cd "$WORK" || exit 1
}

# recipe_token: the token 'demo' with its user PIN, as the pkcs11-tool recipe makes it.
recipe_token() {
    step "pkcs11-tool --init-token (the free slot of a fresh token directory)" \
        pkcs11-tool --module "$MODULE" --slot-index 0 --init-token --label demo --so-pin "$SO_PIN" ||
        bail "no token"
    step "pkcs11-tool --init-pin (as the SO)" \
        pkcs11-tool --module "$MODULE" --token-label demo --login --login-type so --so-pin "$SO_PIN" \
            --init-pin --pin "$PIN" ||
        bail "no user PIN"
}
