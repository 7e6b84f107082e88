#!/usr/bin/env bash
# BIRD 2 (Debian bird2) for the LMA cluster's routing: the generated configurations (pmip6's BirdConfig) are
# checked and run with it.
#
#   scripts/bird.sh install       installs bird2 with apt-get when `bird` is missing (root); prints its version.
#                                 Debian's package may enable a system-wide bird service: it is not started here.
#   scripts/bird.sh check FILE    parses FILE (bird -p) and exits non-zero with BIRD's message when it is wrong.
#
# Exits non-zero with a one-line reason on failure.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

die() { echo "bird.sh: $*" >&2; exit 1; }

install_bird() {
  if ! command -v bird >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "bird2 is not installed and this is not root: apt-get install bird2"
    echo "bird.sh: installing bird2 with apt-get" >&2
    apt-get update -qq >/dev/null || die "apt-get update failed"
    # policy-rc.d 101: the package must not start the system-wide daemon.
    local policy=/usr/sbin/policy-rc.d created=0
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1; fi
    apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold bird2 >/dev/null \
      || { [ "$created" -eq 1 ] && rm -f "$policy"; die "apt-get install bird2 failed"; }
    [ "$created" -eq 1 ] && rm -f "$policy"
  fi
  command -v birdc >/dev/null 2>&1 || die "bird is installed but birdc is missing"
  bird --version 2>&1 | head -1
}

case "${1:-}" in
  install) [ $# -eq 1 ] || die "usage: scripts/bird.sh install"; install_bird ;;
  check)
    [ $# -eq 2 ] || die "usage: scripts/bird.sh check FILE"
    [ -f "$2" ] || die "$2 does not exist"
    out="$(bird -p -c "$2" 2>&1)" || die "$2: ${out//$'\n'/ }"
    ;;
  *) die "usage: scripts/bird.sh install | check FILE" ;;
esac
