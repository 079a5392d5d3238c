#!/usr/bin/env bash
# Cookbook recipe "OpenSSH (ssh -I, PKCS11Provider, ssh-agent)": `ssh-keygen -D` lists the
# token's public keys, and ssh logs in with a token key -- directly (-I, -o PKCS11Provider)
# and through ssh-agent -- to a private sshd that this test starts on 127.0.0.1 and a high
# port, with its own host key and config in the temp dir; the PIN comes from an SSH_ASKPASS
# script (docs/cookbook.md). The system's sshd and its configuration are never used.
#
# Run in a private network namespace when possible; as root, sshd needs its privilege
# separation directory /run/sshd: when that is missing, the test runs in a private mount
# namespace with a tmpfs on /run holding it, so nothing is created on the system.
#   usage: ssh.sh /path/to/libcraton.so
#   exit 77 when ssh, ssh-keygen, sshd (openssh-server) or pkcs11-tool is missing
set -u
. "$(dirname "$0")/recipe.sh"
need_program ssh ssh-keygen ssh-agent ssh-add pkcs11-tool
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$SSHD" ]; then
    echo "# SKIP sshd (openssh-server) is not installed"
    exit 77
fi
if [ -z "${CLIENT_NETNS:-}" ] && [ -z "${CLIENT_NO_NETNS:-}" ] && [ "$(id -u)" = 0 ] &&
   [ ! -d /run/sshd ] && have unshare && have ip &&
   unshare -nm sh -c 'ip link set lo up && mount -t tmpfs -o mode=0755 tmpfs /run' 2>/dev/null; then
    export CLIENT_NETNS=private
    exec unshare -nm bash -c 'ip link set lo up && mount -t tmpfs -o mode=0755 tmpfs /run &&
        mkdir -m 0755 /run/sshd && exec bash "$@"' bash "$0" "$@"
fi
enter_private_netns "$@"
if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
    echo "# SKIP sshd as root needs /run/sshd and no private mount namespace could provide it"
    exit 77
fi
recipe_init "$@"
recipe_token
ME=$(id -un)

# ---- the test's own sshd --------------------------------------------------------------
PORT=$(free_port) || bail "no free port"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh_host_ed25519_key" >/dev/null
cat >"$WORK/sshd_config" <<CFG
Port $PORT
ListenAddress 127.0.0.1
HostKey $WORK/ssh_host_ed25519_key
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowUsers $ME
LogLevel VERBOSE
CFG
: >"$WORK/authorized_keys"
echo "[127.0.0.1]:$PORT $(cat "$WORK/ssh_host_ed25519_key.pub")" >"$WORK/known_hosts"
cat >"$WORK/ssh_config" <<CFG
Host 127.0.0.1
    Port $PORT
    UserKnownHostsFile $WORK/known_hosts
    StrictHostKeyChecking yes
    PreferredAuthentications publickey
CFG
new_log
bg "$SSHD" -D -e -f "$WORK/sshd_config"
SSHD_PID=$BG SSHD_LOG=$LOG
if wait_port "$PORT" "$SSHD_PID" 20; then ok "private sshd on 127.0.0.1:$PORT"; else
    notok "private sshd on 127.0.0.1:$PORT" "$SSHD_LOG"; bail "no sshd"; fi

# ---- recipe ----
step "an EC P-256 key pair on the token for ssh" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" \
        --keypairgen --key-type EC:prime256v1 --id 10 --label ssh-ec
step "an RSA-3072 key pair on the token for ssh" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" \
        --keypairgen --key-type rsa:3072 --id 11 --label ssh-rsa
step "ssh-keygen -D lists the token's public keys" ssh-keygen -D "$MODULE"
grep_log "... an ecdsa-sha2-nistp256 key" "^ecdsa-sha2-nistp256 "
grep_log "... an ssh-rsa key" "^ssh-rsa "
cp "$LOG" token-keys.pub
# On the server: cat token-keys.pub >> ~/.ssh/authorized_keys
cat token-keys.pub >>"$WORK/authorized_keys"
printf '#!/bin/sh\ncat %s\n' "$PWD/pin.txt" >askpass.sh
chmod 700 askpass.sh
echo "$PIN" >pin.txt
chmod 600 pin.txt
export SSH_ASKPASS=$PWD/askpass.sh SSH_ASKPASS_REQUIRE=force
W=$(rand_token)
step "ssh -I libcraton.so logs in with the token key" \
    ssh -F "$WORK/ssh_config" -I "$MODULE" "$ME@127.0.0.1" echo "$W"
grep_log "... and runs the command" "^$W\$"
step "ssh -o PKCS11Provider=libcraton.so logs in too" \
    ssh -F "$WORK/ssh_config" -o PKCS11Provider="$MODULE" "$ME@127.0.0.1" echo "$W"
grep_log "... and runs the command" "^$W\$"
step "ssh-agent started, allowing the module" ssh-agent -s -P "$MODULE"
eval "$(grep -v '^echo' "$LOG")"
BG_PIDS+=("$SSH_AGENT_PID")
step "ssh-add -s adds the token's keys to the agent" ssh-add -s "$MODULE"
step "ssh-add -L lists them" ssh-add -L
grep_log "... the EC key" "^ecdsa-sha2-nistp256 "
step "ssh logs in through the agent" \
    ssh -F "$WORK/ssh_config" "$ME@127.0.0.1" echo "$W"
grep_log "... and runs the command" "^$W\$"
step "ssh-add -e removes the token's keys" ssh-add -e "$MODULE"
step "ssh-agent -k" ssh-agent -k
# ---- end of recipe ----
grep_log "(check) sshd accepted a publickey login with a token key" \
    "Accepted publickey for $ME from 127.0.0.1 .*(ECDSA|RSA)" "$SSHD_LOG"
unset SSH_AUTH_SOCK
echo wrong >pin.txt
step_fails "(check) a wrong PIN gives no login" \
    ssh -F "$WORK/ssh_config" -I "$MODULE" "$ME@127.0.0.1" echo "$W"
stop "$SSHD_PID"
finish
