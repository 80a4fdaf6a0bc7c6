#!/usr/bin/env bash
# The arm64 check: does voice_coach install and run on Debian 12 (bookworm) arm64, the base of
# Raspberry Pi OS 64-bit? Run before a release, on any Debian/Ubuntu amd64 machine, as root:
#
#   sudo nice -n 19 scripts/arm64-check.sh [WORKDIR]
#
# It builds a bookworm arm64 root with mmdebstrap, run under qemu-user-static, copies the
# committed tree (git HEAD) into it, and inside it:
#   1. `./bootstrap.sh run` to the headless demo (there is no sound card in the root);
#   2. `./bootstrap.sh test` on a fast subset of the tests;
#   3. `voice-coach hear` on a few recordings from ../shared (when that folder exists).
# Each step's time is printed. Under emulation a core is many times slower than a Pi's:
# nothing here says how fast the coach is on a Pi, only that it installs and works.
set -euo pipefail

repo="${REPO:-$(cd "$(dirname "$0")/.." && pwd)}"
work="${1:-${TMPDIR:-/tmp}/voice-coach-arm64}"
root="$work/root"
suite="${SUITE:-bookworm}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
log="$work/arm64-check.log"
steps="${STEPS:-1 2 3}"  # e.g. STEPS="2 3" to re-run only the tests and hear on a new commit

say() { printf '[arm64-check %s] %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$log"; }
die() { say "FAILED: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || { echo "arm64-check: run as root (mmdebstrap, chroot and binfmt_misc need it)" >&2; exit 1; }
mkdir -p "$work"
: >"$log"
start_all=$(date +%s)

# Host tools.
need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
[ -e /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
command -v update-binfmts >/dev/null || need+=(binfmt-support)
if [ "${#need[@]}" -gt 0 ]; then
    say "installing host packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# binfmt_misc lets the kernel hand arm64 binaries to qemu; containers often lack the mount.
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc (a container needs --privileged)"
fi
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 || die "cannot register qemu-aarch64 with binfmt_misc"

# The root. libatomic1 is what Vosk's arm64 library links against.
t=$(date +%s)
if [ ! -x "$root/usr/bin/python3" ]; then
    rm -rf "$root"
    say "building $suite arm64 root in $root"
    mmdebstrap --architectures=arm64 --variant=apt \
        --include=ca-certificates,python3,sudo,libatomic1 \
        "$suite" "$root" "$mirror" >>"$log" 2>&1 || die "mmdebstrap (see $log)"
else
    say "reusing the root in $root"
fi
say "root ready in $(( $(date +%s) - t )) s"

# The host's CA bundle and pip settings, so pip in the root reaches the same index.
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/host-ca-bundle.crt"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# The committed tree, as a fresh clone would have it, and a few recordings beside it.
rm -rf "$root/opt/voice_coach" "$root/opt/shared"
mkdir -p "$root/opt/voice_coach"
git -C "$repo" archive HEAD | tar -x -C "$root/opt/voice_coach"
commit="$(git -C "$repo" rev-parse --short HEAD)"
recordings=()
if [ -d "$repo/../shared/speech/commands" ]; then
    for w in stop yes six; do
        d="$root/opt/shared/speech/commands/$w"
        mkdir -p "$d"
        f="$(ls "$repo/../shared/speech/commands/$w"/*.wav | head -n 2)"
        for x in $f; do cp "$x" "$d/"; recordings+=("/opt/shared/speech/commands/$w/$(basename "$x")"); done
    done
fi

mounts=()
cleanup() { for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
for m in proc sys dev dev/pts; do
    mkdir -p "$root/$m"
    mount --bind "/$m" "$root/$m"
    mounts=("$root/$m" "${mounts[@]}")
done

inroot() {
    chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        LANG=C.UTF-8 PIP_CERT=/etc/ssl/certs/host-ca-bundle.crt PIP_DEFAULT_TIMEOUT=180 \
        PIP_DISABLE_PIP_VERSION_CHECK=1 CI=true \
        /bin/bash -c "cd /opt/voice_coach && $1"
}

say "commit $commit; arch inside: $(inroot 'dpkg --print-architecture') / $(inroot 'uname -m')"

t=$(date +%s)
if [[ " $steps " == *" 1 "* ]]; then
    say "step 1: ./bootstrap.sh run (no sound card: the headless demo)"
    inroot './bootstrap.sh run' >>"$log" 2>&1 || die "bootstrap.sh run (see $log)"
    grep -q "Running the headless demo" "$log" || die "bootstrap.sh run did not reach the headless demo"
    grep -qE "\(end: (completed|halted)\)" "$log" || die "the demo did not finish its session"
    step1=$(( $(date +%s) - t )); say "step 1 passed in ${step1} s"
fi

t=$(date +%s)
tests="${TESTS:-tests/test_session.py tests/test_intents.py tests/test_content.py tests/test_hold_timer.py tests/test_cli_console.py tests/test_audio_files.py tests/test_audio_tts.py tests/test_piper_voice.py tests/test_button.py tests/test_config.py tests/test_service.py}"
existing=""
for f in $tests; do [ -f "$root/opt/voice_coach/$f" ] && existing="$existing $f"; done
if [[ " $steps " == *" 2 "* ]]; then
    # Not the real-time ALSA tests (emulation is too slow for their pacing) nor the slow ones.
    say "step 2: ./bootstrap.sh test -m 'not slow and not audio' on$existing"
    inroot "./bootstrap.sh test -q -x -p no:cacheprovider -m 'not slow and not audio' $existing" >>"$log" 2>&1 || die "tests (see $log)"
    step2=$(( $(date +%s) - t )); say "step 2 passed in ${step2} s: $(grep -E '[0-9]+ passed' "$log" | tail -n 1)"
fi

t=$(date +%s)
if [[ " $steps " != *" 3 "* ]]; then
    :
elif [ "${#recordings[@]}" -gt 0 ]; then
    say "step 3: voice-coach hear on ${#recordings[@]} recordings"
    inroot ".venv/bin/voice-coach hear ${recordings[*]}" >"$work/hear.jsonl" 2>>"$log" || die "voice-coach hear (see $log)"
    cat "$work/hear.jsonl" | tee -a "$log"
    [ "$(wc -l <"$work/hear.jsonl")" -eq "${#recordings[@]}" ] || die "hear gave $(wc -l <"$work/hear.jsonl") lines for ${#recordings[@]} files"
else
    say "step 3 skipped: no ../shared/speech/commands beside the repo"
fi
step3=$(( $(date +%s) - t )); say "step 3 done in ${step3} s"

say "PASSED: commit $commit, total $(( $(date +%s) - start_all )) s (emulated: not a Pi speed)"
