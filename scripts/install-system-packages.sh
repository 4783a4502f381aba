#!/usr/bin/env bash
# Debian packages Tally's PDF rendering (WeasyPrint) loads at run time, and the browser its
# tests drive, installed when missing:
#   libpango-1.0-0, libpangoft2-1.0-0  text layout (required: no PDF without them)
#   libharfbuzz-subset0                font subsetting (optional: without it WeasyPrint falls
#                                      back to fontTools, ~40% slower, and warns)
#   fonts-dejavu-core                  the font documents are set in
#   chromium                           the customer portal's browser tests (Playwright drives
#                                      /usr/bin/chromium; without it those tests skip)
#   wrk                                the HTTP load generator `make bench` drives the portal with
#   npm                                installs axe-core (package-lock.json), which the browser
#                                      tests inject to check the dashboard's accessibility
# `make install` runs this. As root with apt-get it installs what is missing; anywhere else
# it only says what to install, and never fails the install.
set -uo pipefail

have_library() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_font() { command -v fc-list >/dev/null && fc-list 2>/dev/null | grep -qi "$1"; }

missing=()
have_library libpangoft2-1.0.so.0 || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
have_library libharfbuzz-subset.so.0 || missing+=(libharfbuzz-subset0)
have_font DejaVuSans || missing+=(fonts-dejavu-core)
command -v chromium >/dev/null || missing+=(chromium)
command -v wrk >/dev/null || missing+=(wrk)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing ${missing[*]} (PDF rendering, browser tests)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 \
         && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
    || echo "could not install ${missing[*]}: PDF rendering or browser tests may fail" >&2
else
  echo "note: PDF rendering and browser tests want these Debian packages (or your system's equivalents):" \
    "${missing[*]}" >&2
fi
exit 0
