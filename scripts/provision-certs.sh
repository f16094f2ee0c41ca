#!/usr/bin/env bash
# Provision the central broker's PKI for wardgate (issue 10): a CA, a broker certificate, and one
# client certificate per gateway (CN = gateway id) and per control-room client (CN = its user
# name). Mosquitto's `use_identity_as_username true` makes the CN the user name that
# config/mosquitto-wardgate.acl matches (%u), so a box can publish only under its own
# wardgate/v1/{gw}/ and read only its own cmd/.
#
#   scripts/provision-certs.sh OUT_DIR --broker HOST[,HOST...] [--gateway ID]... [--client NAME]...
#       [--days N]
#
# Re-running keeps an existing CA (ca.key/ca.crt in OUT_DIR) and adds what is missing; an existing
# leaf is never overwritten. Keys are written 0600. Hosts that look like IPv4 addresses become IP
# SANs, others DNS SANs. Needs openssl (1.1.1 or 3.x).
set -euo pipefail

usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 64
}

[ $# -ge 1 ] || usage
out=$1
shift
brokers=""
gateways=()
clients=()
days=825
while [ $# -gt 0 ]; do
  case "$1" in
    --broker) brokers=${2:?}; shift 2 ;;
    --gateway) gateways+=("${2:?}"); shift 2 ;;
    --client) clients+=("${2:?}"); shift 2 ;;
    --days) days=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$brokers" ] || usage
id_re='^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'
for n in "${gateways[@]}" "${clients[@]}"; do
  [[ "$n" =~ $id_re ]] || { echo "provision-certs: \"$n\" is not a valid id (letters, digits, _ . -)" >&2; exit 65; }
done

mkdir -p "$out"
umask 077
cd "$out"

if [ ! -f ca.key ]; then
  openssl req -x509 -newkey rsa:3072 -nodes -days "$((days * 2))" -subj "/CN=wardgate CA" \
    -keyout ca.key -out ca.crt 2>/dev/null
  echo "made CA: $out/ca.crt (keep ca.key offline)"
fi

# leaf NAME CN EXT: a key and a certificate signed by the CA, unless NAME.crt exists.
leaf() {
  local name=$1 cn=$2 ext=$3
  if [ -f "$name.crt" ]; then
    echo "kept: $out/$name.crt"
    return
  fi
  printf '%b' "$ext" >"$name.ext"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$name.key" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
  echo "made: $out/$name.crt (CN=$cn)"
}

san=""
IFS=',' read -ra hosts <<<"$brokers"
for h in "${hosts[@]}"; do
  if [[ "$h" =~ ^[0-9]+(\.[0-9]+){3}$ ]]; then san+="IP:$h,"; else san+="DNS:$h,"; fi
done
leaf broker "${hosts[0]}" "subjectAltName=${san%,}\nextendedKeyUsage=serverAuth\n"
for g in "${gateways[@]}"; do leaf "gateway-$g" "$g" 'extendedKeyUsage=clientAuth\n'; done
for c in "${clients[@]}"; do leaf "client-$c" "$c" 'extendedKeyUsage=clientAuth\n'; done
chmod 0644 ./*.crt
