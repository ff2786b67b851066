#!/usr/bin/env bash
# Throw-away single-process Teleport cluster on loopback (auth+proxy+ssh),
# password-only local login (second_factor: off, allowed as-is in v13).
#
#   test/teleport/cluster.sh start    # prints the pid, waits for /webapi/find
#   test/teleport/cluster.sh user alice secret-pass-123   # create user + set password
#   test/teleport/cluster.sh stop
#
# Env: TP_DIR (default /tmp/tshup-teleport), TP_WEB_PORT (3080), TP_BIN.
set -euo pipefail
TP_BIN="${TP_BIN:-$HOME/.cache/tshup/teleport/13.3.8/bin}"
TP_DIR="${TP_DIR:-/tmp/tshup-teleport}"
WEB="${TP_WEB_PORT:-3080}"
AUTH="${TP_AUTH_PORT:-3025}"
SSH="${TP_SSH_PORT:-3022}"
TUN="${TP_TUNNEL_PORT:-3024}"
CONF="$TP_DIR/teleport.yaml"

write_config() {
  mkdir -p "$TP_DIR/data"
  cat > "$CONF" <<YAML
version: v3
teleport:
  nodename: tshup-node
  data_dir: $TP_DIR/data
  log:
    output: stderr
    severity: INFO
  # sqlite backend under data_dir (the default), no cloud anything
auth_service:
  enabled: true
  cluster_name: tshup-test
  listen_addr: 127.0.0.1:$AUTH
  proxy_listener_mode: separate
  authentication:
    type: local
    second_factor: "off"
ssh_service:
  enabled: true
  listen_addr: 127.0.0.1:$SSH
  labels:
    env: test
proxy_service:
  enabled: true
  web_listen_addr: 127.0.0.1:$WEB
  tunnel_listen_addr: 127.0.0.1:$TUN
  public_addr: 127.0.0.1:$WEB
  # no https_keypairs, no acme: the proxy generates a self-signed cert
app_service:
  enabled: false
db_service:
  enabled: false
YAML
}

case "${1:-}" in
  start)
    write_config
    nohup "$TP_BIN/teleport" start --config="$CONF" > "$TP_DIR/teleport.log" 2>&1 &
    echo $! > "$TP_DIR/teleport.pid"
    echo "pid $(cat "$TP_DIR/teleport.pid"), log $TP_DIR/teleport.log"
    for _ in $(seq 1 120); do
      if curl -sk -m 2 "https://127.0.0.1:$WEB/webapi/find" >/dev/null 2>&1; then
        curl -sk "https://127.0.0.1:$WEB/webapi/find"; echo; exit 0
      fi
      sleep 1
    done
    echo "teleport did not answer in 120s" >&2; tail -30 "$TP_DIR/teleport.log" >&2; exit 1 ;;
  user)
    user="$2"; pass="$3"; roles="${4:-access,editor}"
    out=$("$TP_BIN/tctl" --config="$CONF" users add "$user" --roles="$roles" --logins="$(id -un)")
    token=$(printf '%s\n' "$out" | grep -o 'invite/[0-9a-f]*' | head -1 | cut -d/ -f2)
    [ -n "$token" ] || { echo "no invite token in: $out" >&2; exit 1; }
    csrf=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    pw64=$(printf '%s' "$pass" | base64 -w0)
    curl -sfk -X PUT "https://127.0.0.1:$WEB/v1/webapi/users/password/token" \
      -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
      --cookie "__Host-grv_csrf=$csrf" \
      -d "{\"token\":\"$token\",\"password\":\"$pw64\"}" >/dev/null
    echo "user $user ready" ;;
  stop)
    [ -f "$TP_DIR/teleport.pid" ] && kill "$(cat "$TP_DIR/teleport.pid")" && rm -f "$TP_DIR/teleport.pid" ;;
  *) echo "usage: $0 start|user NAME PASS [ROLES]|stop" >&2; exit 2 ;;
esac
