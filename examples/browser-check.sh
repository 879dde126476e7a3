#!/usr/bin/env bash
# Browser check of the demo: a real EventSource (headless Chromium) must
# receive plain, named, id-carrying and JSON events, and the server must have
# cleaned up every stream once the browser closed them.
#
#   examples/browser-check.sh            # needs chromium (apt-get install -y chromium)
#   examples/browser-check.sh --install  # installs Debian's chromium first if missing
#
# Starts the demo on 127.0.0.1 (free port, one second of the examples lasts
# 100 ms), loads its page with `?max-events=3` (each never-ending stream is
# closed after 3 events, a chat notification is posted to the page's own
# stream) and checks the lines the page wrote into the DOM. Exits non-zero on
# failure. Takes about 2 s once the demo is built.
set -euo pipefail

cd "$(dirname "$0")/.."

chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [ -z "$chromium" ]; then
    if [ "${1:-}" = "--install" ]; then
        apt-get update -qq && apt-get install -y -qq chromium >/dev/null
        chromium=$(command -v chromium)
    else
        echo "browser-check: chromium not found; install it (apt-get install -y chromium) or pass --install" >&2
        exit 2
    fi
fi

cargo build --quiet -p sse-examples --bin demo
demo="${CARGO_TARGET_DIR:-target}/debug/demo"

work=$(mktemp -d)
demo_pid=
cleanup() {
    if [ -n "$demo_pid" ]; then
        kill "$demo_pid" 2>/dev/null || true
        wait "$demo_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$demo" --addr 127.0.0.1:0 --pace 100ms >"$work/demo.out" 2>"$work/demo.err" &
demo_pid=$!
for _ in $(seq 100); do
    grep -q "^Press Ctrl-C" "$work/demo.out" 2>/dev/null && break
    sleep 0.1
done
base=$(sed -n '1s/^sse-examples demo listening on //p' "$work/demo.out")
if [ -z "$base" ]; then
    echo "browser-check: the demo did not start" >&2
    cat "$work/demo.err" >&2
    exit 1
fi

# --virtual-time-budget dumps the DOM once the page has been idle (no request
# pending) for 8 s of virtual time, i.e. at once after the last stream closed.
if ! timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --virtual-time-budget=8000 --dump-dom \
    "$base/?max-events=3" >"$work/dom.html" 2>"$work/chromium.err"; then
    echo "browser-check: chromium failed or timed out" >&2
    tail -5 "$work/chromium.err" >&2
    exit 1
fi

# One line per event: "route | type | id=lastEventId | data".
grep -o '<li[^>]*>[^<]*</li>' "$work/dom.html" | sed -e 's/<[^>]*>//g' \
    -e 's/&quot;/"/g' -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g' >"$work/events.txt" || true
cat "$work/events.txt"

failed=0
expect() {
    if ! grep -qE -- "$1" "$work/events.txt"; then
        echo "browser-check: MISSING: $1" >&2
        failed=1
    fi
}
expect '^/events/updates \| message \| id= \| Hello, world!$'
expect '^/events/updates \| message \| id= \| This is a real-time update$'
expect '^/events/status \| message \| id= \| \{"status":"Running","timestamp":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z"\}$'
expect '^/aim/named \| notification \| id= \| \{"message":"New notification"\}$'
expect '^/aim/named \| update \| id= \| \{"status":"completed"\}$'
expect '^/aim/ids \| message \| id=1 \| Event 1$'
expect '^/aim/ids \| message \| id=2 \| Event 2$'
expect '^/aim/ids \| message \| id=3 \| Event 3$'
expect '^/aim/progress \| progress \| id= \| \{"percentage":100,"message":"Processing... 100%"\}$'
expect '^/aim/progress \| complete \| id= \| \{"message":"Done!"\}$'
expect '^/aim/counter \| message \| id= \| \{"count":3\}$'
expect '^/aim/feed \| (post|like|comment) \| id=([0-9]+) \| \{"id":"[0-9]+","type":"(post|like|comment)"'
expect '^/aim/notifications/browser \| notification \| id= \| \{"id":1,"from":"the page","message":"automatic check"'
expect '^all streams closed$'
grep -q '<title>done</title>' "$work/dom.html" || { echo "browser-check: the page did not finish" >&2; failed=1; }

# The browser closed every stream: nothing may stay open on the server.
idle='"upstream_streams":0,"listeners":0,"resources_in_use":0,"resources_disposed":0,"live_subscribers":0,"counters_running":0,"feed_subscribers":0,"notification_subscribers":0,"notification_users":0'
for _ in $(seq 50); do
    stats=$(curl -s "$base/stats" || true)
    [ "$stats" = "{$idle}" ] && break
    sleep 0.1
done
if [ "$stats" != "{$idle}" ]; then
    echo "browser-check: server still has open streams: $stats" >&2
    failed=1
fi

if [ "$failed" -ne 0 ]; then
    echo "browser-check: FAILED" >&2
    exit 1
fi
echo "browser-check: OK"
