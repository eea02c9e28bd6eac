#!/usr/bin/env bash
# Side-by-side timing of adsync-sim's real crypto path against reference implementations.
#
#   benches/compare.sh [--quick] [--pairs N]
#
# Every row is measured as N interleaved pairs (ours, reference; the order alternates from pair to
# pair so drift and background load hit both sides alike), and reports the medians and the median
# of the per-pair ratios with their spread. Rows:
#
#   (a) the DPAPI KDF at ROUNDS (1,000,000) iterations of HMAC-SHA512 against OpenSSL's
#       PKCS5_PBKDF2_HMAC (benches/openssl_pbkdf2.c, 48 bytes = one output block, so the same
#       number of HMACs per derivation):
#       - whole process, `adsync-sim dpapi masterkey create`: it derives twice (the master key block
#         and the backup key block both use --rounds), so OpenSSL runs two derivations too;
#       - whole process, `adsync-sim dpapi masterkey decrypt --prekey`: one derivation;
#       - in process: one dpapi_pbkdf2 call against one PKCS5_PBKDF2_HMAC call, each timed inside
#         its own process.
#       The whole-process rows are wall-clock time; every in-process number, ours (bench-timing)
#       and the references (openssl_pbkdf2, `openssl speed`), is the process's CPU time, which
#       other work on a busy machine disturbs far less.
#   (b) master key decryption at 8000 rounds, in process, against impacket's MasterKey.decrypt
#       (benches/impacket_mk.py, through $ADSYNC_SIM_PYTHON or .venv/bin/python).
#   (c) blob protect / unprotect throughput at 64 KiB and 1 MiB against the format's bound: a blob
#       must CBC-encrypt (decrypt) its data and HMAC-SHA512 all of it, so on one core, running
#       the two one after the other, it cannot go faster than `1 / (1/cipher + 1/SHA-512)`. The
#       reference side of each pair measures that bound with OpenSSL's own primitives
#       (benches/openssl_blob.c: EVP AES-256-CBC over a buffer of the same size, one chain as
#       `openssl speed -evp` runs it, then EVP SHA-512 over the ciphertext, pass after pass), in
#       the same run. These rows take BLOB_PAIRS (2 × pairs + 1) pairs of BLOB_SECS (half a
#       second) a side: the host moves a core's speed from one second to the next, and shorter,
#       more numerous pairs let both sides see the same spells. (Running the two in one stitched
#       loop, as ours does for encryption and OpenSSL's own aesni-sha* modes do, can exceed the
#       bound: the cipher then runs in slots the hash leaves idle.)
#   (p) the parts a blob is made of (AES-256-CBC encryption, decryption, SHA-512), ours against
#       OpenSSL's, single samples with no target: they say which part holds a blob back.
#   (d) the in-process KDF against the SHA-512 compression limit: two compressions per iteration
#       at OpenSSL's SHA-512 rate over 16 KiB buffers (bytes/s / 128 = compressions/s), as
#       `openssl speed -bytes 16384 sha512` measures it; benches/openssl_blob.c's sha512 mode runs
#       that measurement for BLOB_SECS, so this row too takes BLOB_PAIRS short pairs.
#
# Prints one markdown table (stdout) with the machine it ran on and the load average (before and
# after the run, and at the start of every row); progress goes to stderr. Builds
# what it needs (cargo build --release; the C program with cc -lcrypto, installing Debian's
# libssl-dev with apt-get when it is missing and we may). Exits non-zero only on real errors (a
# build or a measured command failing), never on a missed target. --quick: 100,000 rounds, 3
# pairs and short runs, a smoke test whose numbers are not for the record.
set -euo pipefail

die() { echo "compare.sh: $*" >&2; exit 1; }
log() { echo "compare.sh: $*" >&2; }

QUICK=0
PAIRS=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --pairs) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || die "--pairs needs a positive number"; PAIRS=$2; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument $1 (try --help)" ;;
  esac
  shift
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SID=S-1-5-21-1-2-3-1001
PASSWORD=x
if [[ $QUICK == 1 ]]; then
  ROUNDS=100000; PAIRS=${PAIRS:-3}; SECS=0.3; BLOB_SECS=0.1; SPEED_SECS=1; MK_REPS=20; PY_REPS=1
else
  ROUNDS=1000000; PAIRS=${PAIRS:-7}; SECS=1; BLOB_SECS=0.5; SPEED_SECS=1; MK_REPS=100; PY_REPS=3
fi
BLOB_PAIRS=$((2 * PAIRS + 1))

WORK=$(mktemp -d "${TMPDIR:-/tmp}/adsync-compare.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------------------------------------
# Tools

SUDO=""
install_pkgs() {
  command -v apt-get >/dev/null || die "missing $*: install them with your package manager (Debian/Ubuntu: apt-get install $*)"
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; else
      die "missing $*: run   sudo apt-get update && sudo apt-get install -y $*   and try again"
    fi
  fi
  log "installing $* with apt-get"
  $SUDO apt-get update -qq >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >&2 || die "apt-get install $* failed"
}

missing=()
command -v cc >/dev/null || missing+=(gcc)
command -v openssl >/dev/null || missing+=(openssl)
echo '#include <openssl/evp.h>' | cc -E -x c - >/dev/null 2>&1 || missing+=(libssl-dev)
[[ ${#missing[@]} -eq 0 ]] || install_pkgs "${missing[@]}"
command -v cargo >/dev/null || die "cargo not found (https://rustup.rs)"

log "building (cargo build --release -p sim-cli -p sim-benches --bins)"
cargo build --release --locked --quiet -p sim-cli -p sim-benches --bins >&2 || die "cargo build failed"
TARGET=$(cargo metadata --format-version 1 --no-deps --locked 2>/dev/null |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[[ -n $TARGET ]] || TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SIM=$TARGET/release/adsync-sim
TIMING=$TARGET/release/bench-timing
[[ -x $SIM && -x $TIMING ]] || die "built binaries not found under $TARGET/release"

OSSL=$WORK/openssl_pbkdf2
cc -O2 -o "$OSSL" benches/openssl_pbkdf2.c -lcrypto >&2 || die "cannot build benches/openssl_pbkdf2.c (needs libssl-dev)"
OSSL_BLOB=$WORK/openssl_blob
cc -O2 -o "$OSSL_BLOB" benches/openssl_blob.c -lcrypto >&2 || die "cannot build benches/openssl_blob.c (needs libssl-dev)"

PY=""
for cand in "${ADSYNC_SIM_PYTHON:-}" "$ROOT/.venv/bin/python"; do
  [[ -n $cand ]] || continue
  cand=$(command -v "$cand" 2>/dev/null) || continue
  if "$cand" -c 'import impacket.dpapi' 2>/dev/null; then PY=$cand; break; fi
done
[[ -n $PY ]] || log "impacket not found (set ADSYNC_SIM_PYTHON, or: python3 -m venv .venv && .venv/bin/pip install impacket); row (b) is skipped"

# ---------------------------------------------------------------------------------------------
# Measuring

# Runs a command, fails the script if it fails, leaves its stdout in $WORK/out and prints the
# wall-clock seconds it took.
timed() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; die "failed: $*"; }
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }'
}
# Runs a command that prints one number, fails the script if it fails or prints none.
number() {
  local v
  v=$("$@" 2>"$WORK/err") || { cat "$WORK/err" >&2; die "failed: $*"; }
  v=$(awk 'NR == 1 { print $1 }' <<<"$v")
  [[ $v =~ ^[0-9.e+-]+$ ]] || die "no number from: $*"
  echo "$v"
}
# openssl speed's rate in bytes/s for the line whose first field is $1.
ossl_rate() {
  local name=$1; shift
  local out
  out=$(openssl speed "$@" 2>/dev/null) || die "failed: openssl speed $*"
  awk -v n="$name" '$1 == n { v = $NF; sub(/k$/, "", v); printf "%.0f\n", v * 1000; found = 1 }
    END { if (!found) exit 1 }' <<<"$out" || die "cannot read openssl speed $* output"
}
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
minmax() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f–%.2f", lo, hi }'; }

# pair_loop NAME OURS_FN THEIRS_FN [N]: runs N (default PAIRS) pairs, alternating which side goes
# first; each function prints one number. Leaves $WORK/NAME.ours and $WORK/NAME.theirs.
pair_loop() {
  local name=$1 ours=$2 theirs=$3 n=${4:-$PAIRS} i
  : >"$WORK/$name.ours"; : >"$WORK/$name.theirs"
  for ((i = 1; i <= n; i++)); do
    if ((i % 2)); then
      $ours >>"$WORK/$name.ours"; $theirs >>"$WORK/$name.theirs"
    else
      $theirs >>"$WORK/$name.theirs"; $ours >>"$WORK/$name.ours"
    fi
  done
  log "  $name: ours $(paste -sd' ' "$WORK/$name.ours") | reference $(paste -sd' ' "$WORK/$name.theirs")"
}
# Per-pair ratios ours/theirs of a pair_loop, times an optional factor on theirs.
ratios() { paste "$WORK/$1.ours" "$WORK/$1.theirs" | awk -v f="${2:-1}" '{ printf "%.6f\n", $1 / ($2 * f) }'; }

ROWS=()
# The 1-minute load average now (what else the machine is running shows in every number).
load1() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?"; }
ROW_LOAD=$(load1)
# row LABEL OURS THEIRS NAME TARGET_OP TARGET [FACTOR]: TARGET_OP is <= or >= on the ratio. The
# load column is the load average when the row's measurement started (set ROW_LOAD before it).
row() {
  local label=$1 ours=$2 theirs=$3 name=$4 op=$5 target=$6 factor=${7:-1} r spread met
  r=$(ratios "$name" "$factor" | median)
  spread=$(ratios "$name" "$factor" | minmax)
  met=$(awk -v r="$r" -v t="$target" -v op="$op" 'BEGIN { ok = (op == "<=") ? (r <= t) : (r >= t); print ok ? "yes" : "**no**" }')
  ROWS+=("| $label | $ours | $theirs | $(printf '%.2f' "$r") | $spread | $op $target | $met | $ROW_LOAD |")
}
secs() { awk -v s="$1" 'BEGIN { if (s >= 1) printf "%.3f s", s; else printf "%.2f ms", s * 1000 }'; }
mbps() { awk -v r="$1" 'BEGIN { printf "%.0f MB/s", r / 1e6 }'; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
log "$PAIRS interleaved pairs per row, KDF at $ROUNDS rounds$([[ $QUICK == 1 ]] && echo ' (quick)')"

# (a) whole process: create (two derivations) against two OpenSSL derivations.
MKFILE=$WORK/mk-$ROUNDS
ours_create() { timed "$SIM" dpapi masterkey create --sid "$SID" --password "$PASSWORD" --rounds "$ROUNDS" --seed 1 --out "$MKFILE"; }
theirs_two() { timed "$OSSL" "$ROUNDS" 2; }
log "(a) whole process: masterkey create vs openssl_pbkdf2 x2"
ROW_LOAD=$(load1)
pair_loop create ours_create theirs_two
row "(a) \`masterkey create\`, whole process, 2 derivations × $ROUNDS rounds vs PKCS5_PBKDF2_HMAC × 2" \
  "$(secs "$(median <"$WORK/create.ours")")" "$(secs "$(median <"$WORK/create.theirs")")" create "<=" 0.7

# (a) whole process decrypt (one derivation) and (a) in process, interleaved in one loop.
PREKEY=$("$TIMING" prekey "$SID" "$PASSWORD") || die "bench-timing prekey failed"
: >"$WORK/inproc.ours"; : >"$WORK/inproc.theirs"; : >"$WORK/decrypt.ours"; : >"$WORK/decrypt.theirs"
ours_decrypt() { timed "$SIM" dpapi masterkey decrypt "$MKFILE" --prekey "$PREKEY"; grep -q "Decrypted key:" "$WORK/out" || die "masterkey decrypt did not open $MKFILE"; }
ours_kdf() { number "$TIMING" kdf "$ROUNDS"; }
theirs_one() { local t; t=$(timed "$OSSL" "$ROUNDS" 1); awk '{ print $1 }' "$WORK/out" >>"$WORK/inproc.theirs"; echo "$t"; }
log "(a) whole process: masterkey decrypt --prekey vs openssl_pbkdf2 x1; in process: dpapi_pbkdf2 vs PKCS5_PBKDF2_HMAC"
ROW_LOAD=$(load1)
for ((i = 1; i <= PAIRS; i++)); do
  if ((i % 2)); then
    ours_decrypt >>"$WORK/decrypt.ours"; ours_kdf >>"$WORK/inproc.ours"; theirs_one >>"$WORK/decrypt.theirs"
  else
    theirs_one >>"$WORK/decrypt.theirs"; ours_kdf >>"$WORK/inproc.ours"; ours_decrypt >>"$WORK/decrypt.ours"
  fi
done
for n in decrypt inproc; do log "  $n: ours $(paste -sd' ' "$WORK/$n.ours") | reference $(paste -sd' ' "$WORK/$n.theirs")"; done
row "(a) \`masterkey decrypt --prekey\`, whole process, 1 derivation × $ROUNDS rounds vs PKCS5_PBKDF2_HMAC × 1" \
  "$(secs "$(median <"$WORK/decrypt.ours")")" "$(secs "$(median <"$WORK/decrypt.theirs")")" decrypt "<=" 0.7
row "(a) KDF in process: \`dpapi_pbkdf2\` vs PKCS5_PBKDF2_HMAC, $ROUNDS × HMAC-SHA512" \
  "$(secs "$(median <"$WORK/inproc.ours")")" "$(secs "$(median <"$WORK/inproc.theirs")")" inproc "<=" 0.7

# (d) the KDF against two SHA-512 compressions per iteration at OpenSSL's 16 KiB rate.
ours_kdf_d() { number "$TIMING" kdf "$ROUNDS"; }
theirs_limit() { local rate; rate=$(number "$OSSL_BLOB" sha512 16384 "$BLOB_SECS"); awk -v r="$rate" -v n="$ROUNDS" 'BEGIN { printf "%.6f\n", 2 * n * 128 / r }'; }
log "(d) dpapi_pbkdf2 vs the SHA-512 compression limit (OpenSSL's SHA-512 over 16 KiB buffers)"
ROW_LOAD=$(load1)
pair_loop limit ours_kdf_d theirs_limit "$BLOB_PAIRS"
row "(d) KDF in process vs SHA-512 limit (2 × $ROUNDS compressions at OpenSSL's SHA-512 16 KiB rate, $BLOB_PAIRS pairs)" \
  "$(secs "$(median <"$WORK/limit.ours")")" "$(secs "$(median <"$WORK/limit.theirs")")" limit "<=" 1.2

# (b) master key decryption at 8000 rounds against impacket.
MK8000=$WORK/mk-8000
"$SIM" dpapi masterkey create --sid "$SID" --password "$PASSWORD" --rounds 8000 --seed 2 --out "$MK8000" >/dev/null ||
  die "masterkey create --rounds 8000 failed"
if [[ -n $PY ]]; then
  ours_mk() { number "$TIMING" mk-open "$MK8000" "$SID" "$PASSWORD" "$MK_REPS"; }
  theirs_mk() { number "$PY" benches/impacket_mk.py "$MK8000" "$SID" "$PASSWORD" "$PY_REPS"; }
  log "(b) master key decryption at 8000 rounds vs impacket"
  ROW_LOAD=$(load1)
  pair_loop mk ours_mk theirs_mk
  row "(b) master key decryption, 8000 rounds, in process vs impacket \`MasterKey.decrypt\`" \
    "$(secs "$(median <"$WORK/mk.ours")")" "$(secs "$(median <"$WORK/mk.theirs")")" mk "<=" 0.05
else
  ROWS+=("| (b) master key decryption, 8000 rounds vs impacket | n/a | impacket not installed | | | <= 0.05 | skipped | $(load1) |")
fi

# (c) blob throughput against the format's bound from OpenSSL's primitives, measured in each pair.
size_label() { if (($1 >= 1048576)); then echo "$(($1 / 1048576)) MiB"; else echo "$(($1 / 1024)) KiB"; fi; }
ours_blob() { number "$TIMING" blob "$op" "$size" "$BLOB_SECS"; }
theirs_bound() { number "$OSSL_BLOB" "$op" "$size" "$BLOB_SECS"; }
for size in 65536 1048576; do
  label=$(size_label "$size")
  for op in protect unprotect; do
    log "(c) blob $op $label vs the format's bound from OpenSSL's AES-256-CBC and SHA-512"
    ROW_LOAD=$(load1)
    pair_loop "blob-$op-$size" ours_blob theirs_bound "$BLOB_PAIRS"
    if [[ $op == protect ]]; then what="encryption + SHA-512"; else what="decryption + SHA-512"; fi
    row "(c) blob $op, $label, vs the format's bound (OpenSSL AES-256-CBC $what, $BLOB_PAIRS pairs)" \
      "$(mbps "$(median <"$WORK/blob-$op-$size.ours")")" "$(mbps "$(median <"$WORK/blob-$op-$size.theirs")")" \
      "blob-$op-$size" ">=" 0.9
  done
done

# (p) What a blob is made of, ours / OpenSSL's (single samples, no target).
for size in 65536 1048576; do
  label=$(size_label "$size")
  ROW_LOAD=$(load1)
  "$TIMING" parts "$size" "$SECS" >"$WORK/parts" 2>"$WORK/err" || { cat "$WORK/err" >&2; die "bench-timing parts failed"; }
  o_enc=$(awk '$1 == "aes-256-cbc-encrypt" { print $2 }' "$WORK/parts")
  o_dec=$(awk '$1 == "aes-256-cbc-decrypt" { print $2 }' "$WORK/parts")
  o_sha=$(awk '$1 == "sha512" { print $2 }' "$WORK/parts")
  t_enc=$(ossl_rate AES-256-CBC -seconds "$SPEED_SECS" -bytes "$size" -evp aes-256-cbc)
  t_dec=$(ossl_rate AES-256-CBC -seconds "$SPEED_SECS" -bytes "$size" -evp aes-256-cbc -decrypt)
  t_sha=$(ossl_rate sha512 -seconds "$SPEED_SECS" -bytes "$size" sha512)
  for part in "AES-256-CBC encryption:$o_enc:$t_enc" "AES-256-CBC decryption:$o_dec:$t_dec" "SHA-512:$o_sha:$t_sha"; do
    IFS=: read -r name o t <<<"$part"
    ROWS+=("| (p) part: $name, $label (single sample) | $(mbps "$o") | $(mbps "$t") | $(awk -v o="$o" -v t="$t" 'BEGIN { printf "%.2f", o / t }') | | — | — | $ROW_LOAD |")
  done
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

# ---------------------------------------------------------------------------------------------
# Report

MODEL=$(lscpu 2>/dev/null | awk -F: '{ v = $2; sub(/^[ \t]+/, "", v) } $1 == "Model name" { m = v } $1 == "CPU family" { f = v }
  $1 == "Model" { n = v } END { if (m != "") printf "%s%s", m, (f != "" ? " (family " f ", model " n ")" : "") }')
CORES=$(nproc 2>/dev/null || echo "?")
FLAGS=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | tr ' ' '\n' | grep -xE 'avx2|bmi2|sha_ni|aes|avx512f' | paste -sd, - || true)

echo "Machine: ${MODEL:-unknown CPU}, $CORES cores (${FLAGS:-flags unknown}); $(uname -sr)"
echo "Tools: $(rustc --version 2>/dev/null), $(openssl version 2>/dev/null)$([[ -n $PY ]] && echo ", impacket $("$PY" -c 'import importlib.metadata as m; print(m.version("impacket"))' 2>/dev/null)")"
echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'), $PAIRS interleaved pairs per row ($BLOB_PAIRS for (c) and (d))$([[ $QUICK == 1 ]] && echo ', --quick (smoke test, not for the record)'), load average $LOAD_BEFORE before, $LOAD_AFTER after"
echo
echo "| measurement | ours | reference | ours/reference (median of pairs) | pair spread | target | met | load (1 min) at start |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "Times: lower ratio is better; throughputs: higher is better."
