#!/usr/bin/env bash
# The suite on SQLite and, when TALLY_TEST_DATABASE_URL names a PostgreSQL server, on PostgreSQL,
# both at once: each pass in its own pytest process (with xdist workers), writing its own log.
# A pass that fails is shown whole and the other one is stopped, so the first failure shows
# early; the exit status is 1 when either failed. Arguments go to both pytest runs.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST=${PYTEST:-.venv/bin/pytest}

LOGS=var/test-logs
mkdir -p "$LOGS"
declare -A passes=()  # pid -> pass name

# What failed last time runs first, alone and in this process (-n 0): with -x, a test still
# broken shows within seconds instead of after xdist's workers drain the queues they hold.
# Then the whole pass. pytest exits 5 when there was nothing to run. Without a recorded
# failure (a fresh checkout, or all passed last time) that first run is skipped: it would
# collect the whole suite (most of a minute of CPU) to run nothing.
# shellcheck disable=SC2016
PASS='cache=$1; shift
failed="$cache/v/cache/lastfailed"
if [ -s "$failed" ] && [ "$(tr -d " \n" <"$failed")" != "{}" ]; then
  "$@" -n 0 --lf --last-failed-no-failures none -o cache_dir="$cache"
  status=$?
  if [ $status -ne 0 ] && [ $status -ne 5 ] && [[ " $* " == *" -x "* ]]; then exit $status; fi
fi
exec "$@" -o cache_dir="$cache"'

start_pass() {  # name, then the command
  local name=$1
  shift
  # Each pass its own process group (to stop it whole) and its own cache (for --lf).
  setsid bash -c "$PASS" _ ".pytest_cache/$name" "$@" >"$LOGS/$name.log" 2>&1 &
  passes[$!]=$name
  echo "== $name pass started: $LOGS/$name.log"
}

start_pass sqlite env -u TALLY_TEST_DATABASE_URL "$PYTEST" "$@"
if [ -n "${TALLY_TEST_DATABASE_URL:-}" ]; then
  start_pass postgres "$PYTEST" "$@"
else
  echo "== TALLY_TEST_DATABASE_URL is not set: PostgreSQL pass skipped"
fi

stop_others() {
  local pid
  for pid in "${!passes[@]}"; do
    echo "== stopping the ${passes[$pid]} pass"
    kill -INT -- "-$pid" 2>/dev/null  # pytest tears down on an interrupt: test databases dropped
  done
}

trap 'stop_others; wait; exit 130' INT TERM  # the passes have their own process groups

failed=0
while [ ${#passes[@]} -gt 0 ]; do
  wait -n -p finished "${!passes[@]}"
  status=$?
  name=${passes[$finished]}
  unset "passes[$finished]"
  if [ $status -eq 0 ]; then
    echo "== $name pass: $(tail -n 1 "$LOGS/$name.log")"
  else
    if [ $failed -eq 0 ]; then
      cat "$LOGS/$name.log"
      echo "== $name pass FAILED (exit status $status; log: $LOGS/$name.log)"
      stop_others
    else
      echo "== $name pass failed or stopped: $(tail -n 1 "$LOGS/$name.log") (log: $LOGS/$name.log)"
    fi
    failed=1
  fi
done
exit $failed
