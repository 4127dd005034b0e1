#!/usr/bin/env bash
# Sets up everything lvstui and its tests need on a Debian/Ubuntu machine:
# the system packages (User-Mode Linux for the lab, ipvsadm, keepalived, sshd,
# tmux) and a virtual environment in .venv with lvstui and its test extras.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3 python3-venv python3-pip user-mode-linux kmod iproute2 ipvsadm keepalived
              openssh-server tmux procps sudo systemd)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if command -v apt-get >/dev/null 2>&1; then
    missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing ${missing[*]}" >&2
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # keepalived and sshd are started by lvstui's lab inside its own guest, never on the host.
    for svc in keepalived ssh; do
        if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled "$svc" >/dev/null 2>&1; then
            $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
        fi
    done
else
    echo "setup: not a Debian/Ubuntu machine; install python3 (>=3.11) and, for the lab, user-mode-linux, ipvsadm, keepalived, openssh-server and tmux yourself" >&2
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.lvstui-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".[test]"
    touch "$stamp"
fi
