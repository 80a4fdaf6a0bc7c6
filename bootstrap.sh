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

# System libraries: espeak-ng is pyttsx3's voice on Linux, libportaudio2 backs sounddevice.
apt_packages=(espeak-ng libportaudio2 python3-venv)
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
if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv"
    "$python" -m venv .venv
fi
extras=""
[ "$mode" = test ] && extras="[test]"
stamp=".venv/.installed${extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "bootstrap: installing voice-coach${extras} into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".${extras}"
    touch "$stamp"
fi

case "$mode" in
    run)  exec .venv/bin/voice-coach run "$@" ;;
    test) .venv/bin/ruff check --no-cache . || { echo "bootstrap: ruff check failed (see above); fix it before the tests run" >&2; exit 1; }
          exec .venv/bin/python -m pytest "$@" ;;
    *)    echo "usage: ./bootstrap.sh run|test [ARGS...]" >&2; exit 2 ;;
esac
