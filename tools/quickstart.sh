#!/usr/bin/env bash
# Quick start for a fresh Debian 12: installs what is missing, builds, and runs the demo or the
# whole test suite. The README's two commands and CI (.ci/run) call this script.
#   tools/quickstart.sh demo   build and run the demo on a temporary token
#   tools/quickstart.sh test   build (normal and ASan/UBSan) and run every test
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-demo}

BUILD_DEPS="build-essential cmake pkg-config libssl-dev libsqlite3-dev libsodium-dev libinih-dev libcmocka-dev openssl"
# Real PKCS#11 clients the tests drive (tests skip, never fail, where one is missing).
TEST_DEPS="opensc libnss3-tools gnutls-bin p11-kit p11-kit-modules libengine-pkcs11-openssl softhsm2 util-linux procps valgrind sqlite3 cppcheck clang-tidy openjdk-17-jdk-headless openssh-server openssh-client clang libclang-rt-14-dev xxd file dpkg-dev iproute2"

sudo_cmd() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_missing() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing: ${missing[*]}"
        sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -q
        # Packages such as openssh-server would start a system service on install; the tests
        # start their own private instances, so no service is started (policy-rc.d, 101).
        local policy=/usr/sbin/policy-rc.d added=0
        if [ ! -e "$policy" ]; then
            printf '#!/bin/sh\nexit 101\n' | sudo_cmd tee "$policy" >/dev/null
            sudo_cmd chmod 755 "$policy"
            added=1
        fi
        sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
        [ $added -eq 1 ] && sudo_cmd rm -f "$policy"
    fi
}

build() { # dir, extra cmake args
    local dir=$1; shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)"
}

case "$what" in
demo)
    install_missing $BUILD_DEPS
    build build
    exec build/tools/demo/craton-demo build/src/libcraton.so
    ;;
test)
    install_missing $BUILD_DEPS $TEST_DEPS
    build build
    (cd build && ctest --output-on-failure -j2)
    # The same suite under AddressSanitizer and UndefinedBehaviorSanitizer.
    build build-asan -DASAN=ON
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j2)
    # The unit and integration tests under ThreadSanitizer (the clients are not instrumented).
    build build-tsan -DTSAN=ON
    (cd build-tsan && ctest --output-on-failure -j2 -R '^(unit|integration)\.')
    # Every fuzz target for a bounded time, after replaying the saved regression inputs.
    tests/fuzz/run.sh "${FUZZ_SECONDS:-45}"
    ;;
*)
    echo "usage: $0 demo|test" >&2
    exit 2
    ;;
esac
