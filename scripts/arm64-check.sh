#!/usr/bin/env bash
# The arm64 check: does voice_coach install and run on Debian 12 (bookworm) arm64, the base of
# Raspberry Pi OS 64-bit? Run before a release, on any Debian/Ubuntu amd64 machine, as root:
#
#   sudo nice -n 19 scripts/arm64-check.sh [WORKDIR]
#
# It builds a bookworm arm64 root with mmdebstrap, run under qemu-user-static, copies the
# committed tree (git HEAD) into it, and inside it:
#   1. `./bootstrap.sh run`: installs everything into a fresh .venv, finds no sound card and
#      starts the headless demo; the step passes once the real recognizer (Whisper through
#      ctranslate2) has heard the demo's first REPLIES (default 2) synthesized replies as they
#      were said, and the demo is then stopped. The whole demo session is not run here: under
#      emulation it had not finished after 57 minutes (tests/test_demo.py runs it whole, natively);
#   2. `./bootstrap.sh test` on a fast subset of the tests;
#   3. `voice-coach hear` on three recordings from ../shared (when that folder exists).
# Each step has a time limit (STEP1_MIN, STEP2_MIN, STEP3_MIN minutes) and prints its time.
# Under emulation a core is many times slower than a Pi's: nothing here says how fast the coach
# is on a Pi, only that it installs and works.
set -euo pipefail

repo="${REPO:-$(cd "$(dirname "$0")/.." && pwd)}"
work="${1:-${TMPDIR:-/tmp}/voice-coach-arm64}"
root="$work/root"
suite="${SUITE:-bookworm}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
log="$work/arm64-check.log"
steps="${STEPS:-1 2 3}"  # e.g. STEPS="2 3" to re-run only the tests and hear on a new commit
replies="${REPLIES:-2}"  # step 1: demo replies the recognizer must hear as said
step1_min="${STEP1_MIN:-40}"; step2_min="${STEP2_MIN:-30}"; step3_min="${STEP3_MIN:-20}"

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
        # A glob, not `ls | head`: under pipefail, ls killed by SIGPIPE when head has read enough
        # ends the whole script with no message.
        clips=("$repo/../shared/speech/commands/$w"/*.wav)
        x="${clips[0]}"
        cp "$x" "$d/"; recordings+=("/opt/shared/speech/commands/$w/$(basename "$x")")
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
export -f inroot; export root  # for the steps run under timeout (bash -c 'inroot ...')

say "commit $commit; arch inside: $(inroot 'dpkg --print-architecture') / $(inroot 'uname -m')"

# How many of the demo's replies the recognizer heard as said: each "recipient says: 'X'" line
# against the next final "heard: 'Y'" line, compared without case or punctuation.
heard_as_said() {
    awk '
        function norm(x) { x = tolower(x); gsub(/[^a-z0-9 ]/, "", x); return x }
        /\] recipient says: / { said = $0; sub(/.*recipient says: /, "", said); said = norm(said); next }
        /\] heard: / { h = $0; sub(/.*\] heard: /, "", h); if (said != "" && norm(h) == said) n++; said = "" }
        END { print n + 0 }' "$1"
}

t=$(date +%s)
if [[ " $steps " == *" 1 "* ]]; then
    say "step 1: ./bootstrap.sh run (no sound card: the headless demo) until the recognizer has heard $replies replies as said (limit $step1_min min)"
    demo_log="$work/step1.log"
    : >"$demo_log"
    # timeout runs it in its own process group: stopping timeout stops the demo and its children.
    timeout -k 30 "${step1_min}m" bash -c 'inroot "$1"' _ "PYTHONUNBUFFERED=1 ./bootstrap.sh run" >"$demo_log" 2>&1 &
    demo_pid=$!
    result=""
    while :; do
        if [ "$(heard_as_said "$demo_log")" -ge "$replies" ]; then result=ok; break; fi
        if ! kill -0 "$demo_pid" 2>/dev/null; then
            rc=0; wait "$demo_pid" || rc=$?
            if [ "$rc" -eq 124 ]; then result=timeout; else result=exited; fi
            break
        fi
        sleep 5
    done
    if [ "$result" = ok ]; then kill -TERM "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; fi
    cat "$demo_log" >>"$log"
    grep -q "Running the headless demo" "$demo_log" || die "bootstrap.sh run did not reach the headless demo (see $demo_log)"
    grep -q "Recognizer: whisper" "$demo_log" || die "the demo did not run the Whisper recognizer (see $demo_log)"
    case "$result" in
        ok) ;;
        exited) die "the demo ended before the recognizer heard $replies replies as said (see $demo_log)" ;;
        *) die "the recognizer had heard $(heard_as_said "$demo_log") of $replies replies as said after $step1_min min (see $demo_log)" ;;
    esac
    step1=$(( $(date +%s) - t ))
    grep -E "\] (recipient says|heard)" "$demo_log" | tee -a "$log"
    say "step 1 passed in ${step1} s: installed, the headless demo ran the Whisper recognizer and heard its first $replies replies as said; the demo was then stopped (its whole session is not run here)"
fi

t=$(date +%s)
tests="${TESTS:-tests/test_session.py tests/test_intents.py tests/test_content.py tests/test_hold_timer.py tests/test_cli_console.py tests/test_audio_files.py tests/test_audio_tts.py tests/test_piper_voice.py tests/test_button.py tests/test_config.py tests/test_service.py}"
existing=""
for f in $tests; do [ -f "$root/opt/voice_coach/$f" ] && existing="$existing $f"; done
if [[ " $steps " == *" 2 "* ]]; then
    # Not the real-time ALSA tests (emulation is too slow for their pacing) nor the slow ones.
    say "step 2: ./bootstrap.sh test -m 'not slow and not audio' on$existing"
    rc=0; timeout -k 30 "${step2_min}m" bash -c 'inroot "$1"' _ "./bootstrap.sh test -q -x -p no:cacheprovider -m 'not slow and not audio' $existing" >>"$log" 2>&1 || rc=$?
    [ "$rc" -ne 124 ] || die "the tests did not finish within $step2_min min"
    [ "$rc" -eq 0 ] || die "tests (see $log)"
    step2=$(( $(date +%s) - t )); say "step 2 passed in ${step2} s: $(grep -E '[0-9]+ passed' "$log" | tail -n 1)"
fi

t=$(date +%s)
if [[ " $steps " != *" 3 "* ]]; then
    :
elif [ "${#recordings[@]}" -gt 0 ]; then
    say "step 3: voice-coach hear on ${#recordings[@]} recordings (limit $step3_min min)"
    rc=0; timeout -k 30 "${step3_min}m" bash -c 'inroot "$1"' _ ".venv/bin/voice-coach hear ${recordings[*]}" >"$work/hear.jsonl" 2>>"$log" || rc=$?
    cat "$work/hear.jsonl" | tee -a "$log"
    [ "$rc" -ne 124 ] || die "voice-coach hear did not finish within $step3_min min ($(wc -l <"$work/hear.jsonl") of ${#recordings[@]} files heard)"
    [ "$rc" -eq 0 ] || die "voice-coach hear (see $log)"
    [ "$(wc -l <"$work/hear.jsonl")" -eq "${#recordings[@]}" ] || die "hear gave $(wc -l <"$work/hear.jsonl") lines for ${#recordings[@]} files"
else
    say "step 3 skipped: no ../shared/speech/commands beside the repo"
fi
step3=$(( $(date +%s) - t )); say "step 3 done in ${step3} s"

say "PASSED: commit $commit, total $(( $(date +%s) - start_all )) s (emulated: not a Pi speed)"
