#!/usr/bin/env bash
# `make demo`: start the Exchange simulator and show what the exsync CLI does against it.
#
#   1. probe alice@contoso.test over NTLM with impersonation, at the simulator's EWS URL
#   2. the same probe, finding the EWS URL with Autodiscover (--resolve points contoso.test
#      and autodiscover.contoso.test at the simulator, which serves Autodiscover for every
#      Host header by default)
#   3. SyncFolderItems + GetItem of alice's Inbox
#   4. a probe with a wrong password, which must fail at the authentication step
#
# Exits 0 only when every step did what it should. BIN_DIR holds the ews-sim and exsync
# binaries (the Makefile passes the cargo target's debug directory).
set -euo pipefail

cd "$(dirname "$0")/.."
BIN_DIR=${BIN_DIR:-target/debug}
SIM="$BIN_DIR/ews-sim"
EXSYNC="$BIN_DIR/exsync"
CONFIG=tests/ews-sim/example-config.json
SERVICE_ACCOUNT=svc-exsync
MAILBOX=alice@contoso.test
DOMAIN=${MAILBOX#*@}
# The documented exit code of `exsync ews probe` for the authentication step.
EXIT_AUTHENTICATION=13

for bin in "$SIM" "$EXSYNC"; do
  [[ -x $bin ]] || { echo "demo: $bin not found; run 'make demo' (it builds both)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/exsync-demo.XXXXXX")
sim_pid=""
cleanup() {
  if [[ -n $sim_pid ]] && kill -0 "$sim_pid" 2>/dev/null; then
    kill "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "demo: FAILED: the command above did not do what it should" >&2' ERR

if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
section() {
  printf '\n%s== %s ==%s\n\n' "$bold" "$*" "$plain"
}

# Shows a command the way a reader would type it (the password stays in its variable).
show() {
  local line="$ exsync" arg
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9@._:/=+,-]+$ ]]; then line+=" $arg"; else line+=" '$arg'"; fi
  done
  printf '%s\n\n' "$line"
}

# --- the simulator -------------------------------------------------------------------------

section "Starting the Exchange simulator ($CONFIG)"
mkfifo "$work/sim.out"
"$SIM" --config "$CONFIG" --ca-out "$work/ca.pem" >"$work/sim.out" 2>"$work/sim.log" &
sim_pid=$!
exec 3<"$work/sim.out"

ews_url="" https_addr="" ca_path="" ready=""
while IFS='=' read -r -t 60 key value <&3; do
  printf '  %s=%s\n' "$key" "$value"
  case $key in
    ews_url) ews_url=$value ;;
    https_addr) https_addr=$value ;;
    ca_path) ca_path=$value ;;
    ready) ready=$value; break ;;
  esac
done
if [[ $ready != 1 || -z $ews_url || -z $https_addr || -z $ca_path ]]; then
  echo "demo: the simulator did not report ready=1 with its URLs; its log:" >&2
  cat "$work/sim.log" >&2
  exit 1
fi

# The service account and its password come from the simulator's configuration.
{ read -r netbios; read -r password; } < <(python3 -c '
import json, sys
config = json.load(open(sys.argv[1]))
account = next(a for a in config["accounts"] if a["user"] == sys.argv[2])
print(config.get("netbios_domain", "CONTOSO"))
print(account["password"])
' "$CONFIG" "$SERVICE_ACCOUNT")
user="$netbios\\$SERVICE_ACCOUNT"
export EXSYNC_PASSWORD=$password
export EXSYNC_WRONG_PASSWORD="not-$password"
account=(--user "$user" --password-env EXSYNC_PASSWORD --auth ntlm --ca-file "$ca_path")

passed=0

# --- 1. probe at the EWS URL ------------------------------------------------------------------

section "1. Test Connection for $MAILBOX: NTLM, impersonation, EWS URL given"
args=(ews probe --email "$MAILBOX" --ews-url "$ews_url" "${account[@]}")
show "${args[@]}"
"$EXSYNC" "${args[@]}"
passed=$((passed + 1))

# --- 2. probe through Autodiscover -------------------------------------------------------------

section "2. The same, finding the EWS URL with Autodiscover"
args=(ews probe --email "$MAILBOX" --autodiscover
  --resolve "$DOMAIN:443:$https_addr" --resolve "autodiscover.$DOMAIN:443:$https_addr"
  "${account[@]}")
show "${args[@]}"
"$EXSYNC" "${args[@]}"
passed=$((passed + 1))

# --- 3. sync -----------------------------------------------------------------------------------

section "3. What is in $MAILBOX's Inbox (SyncFolderItems, then GetItem)"
args=(ews sync --email "$MAILBOX" --ews-url "$ews_url" "${account[@]}" --folder inbox)
show "${args[@]}"
"$EXSYNC" "${args[@]}"
passed=$((passed + 1))

# --- 4. wrong password -------------------------------------------------------------------------

section "4. A wrong password: the probe must fail at the authentication step"
args=(ews probe --email "$MAILBOX" --ews-url "$ews_url"
  --user "$user" --password-env EXSYNC_WRONG_PASSWORD --auth ntlm --ca-file "$ca_path")
show "${args[@]}"
if output=$("$EXSYNC" "${args[@]}" 2>&1); then code=0; else code=$?; fi
printf '%s\n' "$output"
if [[ $code -ne $EXIT_AUTHENTICATION ]]; then
  echo "demo: expected exit code $EXIT_AUTHENTICATION (authentication), got $code" >&2
  exit 1
fi
if ! grep -q '^FAILED at the Authentication step' <<<"$output"; then
  echo "demo: the diagnosis does not name the authentication step" >&2
  exit 1
fi
printf '\n(exit code %s, as expected)\n' "$code"
passed=$((passed + 1))

section "Demo passed: $passed of 4 steps did what they should"
