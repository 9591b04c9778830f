#!/usr/bin/env bash
# ofad-raw.sh METHOD [PARAMS_JSON]: one request to ofad, speaking the framing directly with socat (or nc -U).
# Prints the response's JSON. Socket: $OFAD_SOCKET, else /run/ofad/ofad.sock.
# Example: clients/ofad-raw.sh predict '{"image":{"data":"'"$(base64 -w0 cat.jpg)"'"},"hypothesis":"a cat"}'
set -euo pipefail

method=${1:?usage: ofad-raw.sh METHOD [PARAMS_JSON]}
params=${2:-}
socket=${OFAD_SOCKET:-/run/ofad/ofad.sock}

request="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$method\""
[ -n "$params" ] && request+=",\"params\":$params"
request+="}"

# The frame: 4-byte big-endian byte length, then the UTF-8 JSON.
length=$(printf '%s' "$request" | LC_ALL=C wc -c)
header=$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((length >> 24 & 255)) $((length >> 16 & 255)) \
    $((length >> 8 & 255)) $((length & 255)))

connect() {
    # Sending ends with a half-close; ofad answers, then closes its side.
    if command -v socat >/dev/null; then
        socat -t 30 - "UNIX-CONNECT:$socket"
    else
        nc -N -U "$socket"
    fi
}

response=$( { printf "$header"; printf '%s' "$request"; } | connect | od -An -v -tu1 | tr -s ' \n' ' ')
read -r -a bytes <<<"$response"
if [ "${#bytes[@]}" -lt 4 ]; then
    echo "ofad-raw.sh: no response from $socket" >&2
    exit 2
fi
body_length=$(( bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3] ))
if [ $(( ${#bytes[@]} - 4 )) -ne "$body_length" ]; then
    echo "ofad-raw.sh: response frame announced $body_length bytes, got $(( ${#bytes[@]} - 4 ))" >&2
    exit 2
fi
printf '%b\n' "$(printf '\\x%02x' "${bytes[@]:4}")"
