#!/usr/bin/env bash
# `make demo`: the whole of exsync on this machine, walked through the seed's eight steps.
#
# Run by the Makefile under scripts/with-moto.sh, so a local AWS endpoint (moto server) is
# up and AWS_ENDPOINT_URL names it. This script starts:
#   - the Exchange simulator, seeded from tests/ews-sim/demo-config.json: a service account
#     holding ApplicationImpersonation, user mailboxes, a queue mailbox, contacts, and mail
#     that keeps arriving;
#   - `exsync serve --init`: creates the table, queues and key from template.yaml (the same
#     definitions `sam deploy` uses), serves the admin API on 127.0.0.1, ticks the scheduler
#     every few seconds and polls both SQS queues, handing each batch to the sync-worker and
#     jobs-worker functions' own handlers;
# then runs `exsync-demo`, which drives the admin API through the eight steps and prints a
# report. Exit 0 when every step did what it should; otherwise the failing step's number
# (see tests/demo/src/main.rs) and the tail of each log.
#
# KEEP=1 leaves everything running after the walkthrough (until Ctrl-C) and prints the
# admin API's address. BIN_DIR holds the binaries (the Makefile passes cargo's debug dir).
set -euo pipefail

cd "$(dirname "$0")/.."
BIN_DIR=${BIN_DIR:-target/debug}
SIM="$BIN_DIR/ews-sim"
EXSYNC="$BIN_DIR/exsync"
DEMO="$BIN_DIR/exsync-demo"
CONFIG=${DEMO_CONFIG:-tests/ews-sim/demo-config.json}
ADMIN=${DEMO_ADMIN:-admin@contoso.test}
KEEP=${KEEP:-}
# How often the in-process scheduler ticks. In AWS a mailbox is polled at most once per
# slot: SQS drops a job whose deduplication id (mailbox + slot) it saw in the last five
# minutes. moto only compares jobs still in the queue, so here a due mailbox may be polled
# at each tick of its minute (an idle poll is one cheap EWS call); a short period means a
# mailbox made due waits seconds, not a minute.
TICK_SECONDS=${TICK_SECONDS:-10}

for bin in "$SIM" "$EXSYNC" "$DEMO"; do
  [[ -x $bin ]] || { echo "demo: $bin not found; run 'make demo' (it builds them)" >&2; exit 1; }
done
[[ -n ${AWS_ENDPOINT_URL:-} ]] || { echo "demo: AWS_ENDPOINT_URL is not set; run it as 'make demo' (scripts/with-moto.sh starts moto)" >&2; exit 1; }

mkdir -p .run
work=$(mktemp -d "${TMPDIR:-/tmp}/exsync-demo.XXXXXX")
logs=.run/demo
mkdir -p "$logs"
# A previous run's logs would answer wait_for_line before the new processes write theirs.
rm -f "$logs"/*.out "$logs"/*.err
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
say() { printf '%s%s%s\n' "$bold" "$*" "$plain"; }

# Waits until FILE has a line starting with PREFIX (at most 60 s, while PID lives) and
# prints the rest of that line.
wait_for_line() {
  local file=$1 prefix=$2 pid=$3 what=$4 line
  for _ in $(seq 1 300); do
    line=$(grep -m1 "^$prefix" "$file" 2>/dev/null || true)
    if [[ -n $line ]]; then printf '%s\n' "${line#"$prefix"}"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo: $what exited before it was ready; its log:" >&2
      cat "$file" "$file.err" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.2
  done
  echo "demo: $what was not ready within 60 s; its log:" >&2
  cat "$file" "$file.err" >&2 2>/dev/null || true
  return 1
}

say "Local AWS endpoint (moto server): $AWS_ENDPOINT_URL"

# --- the Exchange simulator --------------------------------------------------------------

"$SIM" --config "$CONFIG" --ca-out "$work/ca.pem" >"$logs/sim.out" 2>"$logs/sim.out.err" &
pids+=($!)
sim_pid=$!
wait_for_line "$logs/sim.out" "ready=" "$sim_pid" "the Exchange simulator" >/dev/null
https_addr=$(wait_for_line "$logs/sim.out" "https_addr=" "$sim_pid" "the simulator")
control_url=$(wait_for_line "$logs/sim.out" "control_url=" "$sim_pid" "the simulator")
ews_url=$(wait_for_line "$logs/sim.out" "ews_url=" "$sim_pid" "the simulator")
domain=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["domains"][0])' "$CONFIG")
say "Exchange simulator ($CONFIG): EWS $ews_url, Autodiscover for $domain"

# --- exsync ------------------------------------------------------------------------------

# Autodiscover finds the simulator the way it finds a real server: by the mail domain's
# names, which --resolve points at the simulator (no DNS is touched).
EXSYNC_BOOTSTRAP_ADMIN=$ADMIN RUST_LOG=${RUST_LOG:-info} "$EXSYNC" serve --init \
  --listen 127.0.0.1:0 \
  --ca-file "$work/ca.pem" \
  --resolve "$domain:443:$https_addr" \
  --resolve "autodiscover.$domain:443:$https_addr" \
  --scheduler-every "$TICK_SECONDS" \
  --sync-worker \
  >"$logs/exsync.out" 2>"$logs/exsync.out.err" &
pids+=($!)
serve_pid=$!
listening=$(wait_for_line "$logs/exsync.out" "exsync serve: listening on " "$serve_pid" "exsync serve")
api_url=${listening%% *}
say "exsync: admin API $api_url, scheduler every $TICK_SECONDS s, sync and jobs workers polling SQS"
sed -n 's/^exsync serve: /  /p' "$logs/exsync.out"

# --- the walkthrough ---------------------------------------------------------------------

status=0
"$DEMO" --api "$api_url" --sim-control "$control_url" --sim-ca "$work/ca.pem" \
  --sim-config "$CONFIG" --admin "$ADMIN" || status=$?

if [[ $status -ne 0 ]]; then
  echo
  echo "demo: the last lines of each log (all of them are in $logs/):"
  for f in "$logs"/exsync.out.err "$logs"/sim.out.err; do
    echo "--- $f"
    tail -n 25 "$f" || true
  done
fi

if [[ -n $KEEP ]]; then
  echo
  say "KEEP=1: everything keeps running until Ctrl-C"
  echo "  admin API:            $api_url   (send X-Exsync-Principal: $ADMIN)"
  echo "  e.g.                  curl -H 'X-Exsync-Principal: $ADMIN' $api_url/mailboxes"
  echo "  Exchange simulator:   $ews_url   (control API $control_url, CA $work/ca.pem)"
  echo "  local AWS endpoint:   $AWS_ENDPOINT_URL"
  echo "  logs:                 $logs/"
  wait "$serve_pid" || true
fi
exit "$status"
