#!/usr/bin/env bash
# The library must export the PKCS#11 entry points and nothing else, and be linked with full
# RELRO and immediate binding (a hijacked GOT entry cannot be planted later).
set -u
lib=$1
fail=0
extra=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TtWwDdBbRr]/ {print $3}' | grep -v '^C_' || true)
if [ -n "$extra" ]; then echo "not ok - exports beyond C_*: $extra"; fail=1; else echo "ok - only C_* exported"; fi
n=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -c '^C_')
if [ "$n" -eq 92 ]; then echo "ok - all 92 PKCS#11 3.0 functions exported"; else echo "not ok - $n C_* symbols, want 92"; fail=1; fi
if readelf -lW "$lib" | grep -q GNU_RELRO && readelf -dW "$lib" | grep -q 'BIND_NOW\|FLAGS.*NOW'; then
    echo "ok - full RELRO"
else
    echo "not ok - RELRO/BIND_NOW missing"; fail=1
fi
echo "$((3 - fail)) passed, $fail failed"
exit $fail
