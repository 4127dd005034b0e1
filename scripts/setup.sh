#!/usr/bin/env bash
# Sets up lvstui's lab and tests on a Debian/Ubuntu workstation or CI machine:
#   1. system packages that ship no service (User-Mode Linux, kmod, iproute2, tmux, ...),
#      installed by name with apt;
#   2. a virtual environment in .venv with lvstui and its test extras;
#   3. the lab's userland (keepalived, ipvsadm, sshd): the system's own where installed,
#      else unpacked from Debian's packages into lvstui's cache (scripts/userland.sh), so
#      that no service is installed, started, enabled or reconfigured on this machine; and
#      systemd-nspawn and ifupdown for the lab's systemd hosts, unpacked the same way;
#   4. the lab's package mirror (scripts/mirror.sh): the .deb files of ipvsadm, keepalived and
#      what they need, copied from apt's cache or fetched with `apt-get download` (nothing is
#      installed), for the lab's bare hosts where the director wizard installs them with apt;
#   5. a User-Mode Linux kernel that boots on this CPU: the distribution's if it passes a
#      one-second probe boot, else one from the newest Debian suite (scripts/fetch-uml.sh).
# Safe to run again: each step does only what is missing.
#
# This script never stops, disables, masks, restarts or reconfigures a service: keepalived
# and sshd run only inside the lab guest.  On a production director, install lvstui alone
# with `pip install .` (README, "On a director") and do not run this script.
#
# Environment: PYTHON (default python3); LVSTUI_FETCH_UML=1 fetches the newest suite's kernel
# even where the distribution's boots (to run the suite on both).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }

# Packages that start no daemon when installed (systemd is on every Debian system already;
# the lab guest uses its systemctl, sudo and tmux from the host's file system).
APT_PACKAGES=(python3 python3-venv python3-pip user-mode-linux kmod iproute2 util-linux
              openssh-client tmux procps sudo systemd patchelf ca-certificates chromium)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if command -v apt-get >/dev/null 2>&1; then
    missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing ${missing[*]}"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
else
    say "not a Debian/Ubuntu machine: install python3 (>=3.11) yourself; for the lab also user-mode-linux," \
        "kmod, iproute2, ipvsadm, keepalived, openssh-server and tmux"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    say "creating .venv"
    "$PY" -m venv .venv
fi
stamp=.venv/.lvstui-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "installing lvstui and its test extras into .venv"
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".[test]"
    touch "$stamp"
fi

if command -v apt-get >/dev/null 2>&1; then
    ./scripts/userland.sh
    ./scripts/userland.sh systemd-hosts
    # only the mirror's own lab test needs it: without it that test fails, saying to run it
    PYTHON_VENV=.venv/bin/python ./scripts/mirror.sh || say "no package mirror (scripts/mirror.sh failed):" \
        "tests/setup/test_mirror_lab.py will fail until it runs"
    if [ "${LVSTUI_FETCH_UML:-0}" = 1 ]; then
        ./scripts/fetch-uml.sh
    fi
    if ! .venv/bin/python -m lvstui.lab.kernel --quiet; then
        say "the distribution's User-Mode Linux does not boot on this CPU: fetching a newer one"
        ./scripts/fetch-uml.sh
        .venv/bin/python -m lvstui.lab.kernel
    fi
fi
