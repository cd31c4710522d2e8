#!/usr/bin/env bash
# Runs a command with a local AWS endpoint: a moto server (DynamoDB, SQS, KMS) on a free
# loopback port, reached through the SDK's standard variables, and stopped when the command
# ends, however it ends.
#
#   scripts/with-moto.sh cargo test --workspace
#
# The variables it exports are the ones every AWS SDK reads (AWS_ENDPOINT_URL and friends),
# so the code under test builds its clients exactly as it does in Lambda. The credentials are
# dummies: moto accepts anything, and a test can never reach a real account through them.
# Tests share this one server and isolate themselves by unique table/queue names; nothing may
# reset it while they run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${VENV:-$root/.venv}
moto="$venv/bin/moto_server"
py="$venv/bin/python"

if [ "$#" -eq 0 ]; then
  echo "usage: scripts/with-moto.sh COMMAND [ARGS...]" >&2
  exit 2
fi
if [ ! -x "$moto" ]; then
  echo "with-moto.sh: $moto not found; run 'make venv' (requirements.txt pins moto[server])" >&2
  exit 1
fi

# A free port: bind port 0 and read what the kernel chose.
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
log_dir="$root/.run"
mkdir -p "$log_dir"
log="$log_dir/moto-$port.log"

# moto_server with DynamoDB requests serialized, as real DynamoDB transactions are
# (scripts/moto_server.py says why).
"$py" "$root/scripts/moto_server.py" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!

stop_moto() {
  kill "$moto_pid" 2>/dev/null || true
  wait "$moto_pid" 2>/dev/null || true
  rm -f "$log"
}
trap stop_moto EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Wait until it answers (moto's own API), at most 30 seconds.
url="http://127.0.0.1:$port"
ready=""
for _ in $(seq 1 150); do
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "with-moto.sh: moto_server exited before answering; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  if "$py" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/moto-api/data.json", timeout=1)' "$url" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  echo "with-moto.sh: moto_server did not answer on $url within 30 s; its log:" >&2
  cat "$log" >&2
  exit 1
fi

export AWS_ENDPOINT_URL="$url"
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
# Python tools (boto3, the AWS CLI) read the older name.
export AWS_DEFAULT_REGION=us-east-1
# Nothing from the caller's own AWS setup may redirect the tests elsewhere.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_KMS
echo "with-moto.sh: local AWS endpoint at $url" >&2

# Not exec: the trap must run to stop moto when the command ends.
status=0
"$@" || status=$?
exit "$status"
