#!/bin/sh
# Makes the secrets of the compose stack (docker-compose.yml) in deploy/compose/secrets/, or in
# the folder given as $1: a random password per MQTT user (yieldwatch: the agent, simulator: the
# demo's simulators, health: Mosquitto's health check), Mosquitto's password file with their
# hashes, the agent's API token and Grafana's admin password. Files that exist are kept, so
# running it again changes nothing but the three users' hashes, made again from their passwords.
# Hashes with mosquitto_passwd when installed (Debian: mosquitto), else with the stack's own
# Mosquitto image. The folder is never committed (.gitignore).
set -eu

dir=${1:-$(dirname "$0")/secrets}
mosquitto_image=eclipse-mosquitto:2.0.22

umask 077
mkdir -p "$dir"
chmod 0700 "$dir"
dir=$(cd "$dir" && pwd)

# 32 characters of [A-Za-z0-9]: no quoting trouble in a shell, a URL or a config file.
new_secret() {
  [ -s "$dir/$1" ] && return 0
  LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 >"$dir/$1"
  # Readable by the containers' own users (node, grafana, mosquitto), whose ids differ from
  # yours: Compose without Swarm mounts secret files as they are. The 0700 folder keeps
  # everyone else on this machine out.
  chmod 0644 "$dir/$1"
}

for name in mqtt_agent_password mqtt_simulator_password mqtt_health_password api_token grafana_admin_password; do
  new_secret "$name"
done

# mosquitto_passwd reads the password twice from standard input, so it never shows in `ps`.
hash_into() { # FILE USER PASSWORD_FILE [-c]
  if command -v mosquitto_passwd >/dev/null 2>&1; then
    { cat "$3"; echo; cat "$3"; echo; } | mosquitto_passwd ${4:-} "$1" "$2" >/dev/null
  else
    { cat "$3"; echo; cat "$3"; echo; } | docker run --rm -i --user "$(id -u):$(id -g)" -v "$dir:/secrets" \
      "$mosquitto_image" mosquitto_passwd ${4:-} "/secrets/$(basename "$1")" "$2" >/dev/null
  fi
}
# On a copy, so a failure leaves the old file; users added by hand (a plant's machines) are kept.
tmp=$dir/.mosquitto_passwd.new
rm -f "$tmp"
create=-c
if [ -s "$dir/mosquitto_passwd" ]; then
  cp "$dir/mosquitto_passwd" "$tmp"
  create=
fi
hash_into "$tmp" yieldwatch "$dir/mqtt_agent_password" $create
hash_into "$tmp" simulator "$dir/mqtt_simulator_password"
hash_into "$tmp" health "$dir/mqtt_health_password"
chmod 0644 "$tmp"
mv "$tmp" "$dir/mosquitto_passwd"

echo "secrets in $dir: $(cd "$dir" && ls | tr '\n' ' ')"
