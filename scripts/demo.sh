#!/usr/bin/env bash
#
# demo.sh -- consent-ivr in action: two real SIP calls (`npm run demo`).
#
# Brings up the sandbox (Asterisk 22 + Redis, installed on first use), builds
# the service and starts it in the background, then places two SIP calls with
# SIPp through the sandbox's PJSIP endpoint, the way a trunk would: SIP
# signalling, RTP audio, keys sent as RFC 4733 telephone-events.
#
#   call 1: the caller presses 1 during the notice (accepts), then talks
#   call 2: the caller presses 2 during the notice (refuses), then talks
#
# For each call it prints what the dialplan got back from the consent routine
# (CONSENT_RESULT, CONSENT_LANG, CONSENT_ID = the ledger id), the digit stored
# in the ledger, and for the accepted call the recording and its length. Then
# it stops the service (SIGTERM) and leaves the sandbox running.
#
# Run as root on Debian after `npm ci`. The service's log: .sandbox/logs/demo.log
#
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$SCRIPT_DIR")
STATE=$(realpath -m "${CONSENT_IVR_SANDBOX_STATE:-$REPO/.sandbox}")
LOG_DIR=$STATE/logs
DEMO_LOG=$LOG_DIR/demo.log
CONFIG=$REPO/config/sandbox.yaml
CLI=$REPO/dist/cli/main.js
# Calls go to Stasis(consent-ivr): the PJSIP channel sets no CONSENT_APP.
APP=consent-ivr
# The caller's voice: the G.711 A-law speech sample shipped with SIPp.
CALLER_AUDIO=/usr/share/sip-tester/g711a.pcap
READY_TIMEOUT=30
CALL_TIMEOUT=90

SERVICE_PID=""
STATUS_JSON=""

say() { printf '%s\n' "$*"; }
step() { printf '\n==> %s\n' "$*"; }
field() { printf '    %-16s %s\n' "$1" "$2"; }

die() {
    printf 'demo: error: %s\n' "$*" >&2
    exit 1
}

stop_service() {
    [[ -n $SERVICE_PID ]] || return 0
    if kill -0 "$SERVICE_PID" 2>/dev/null; then
        kill -TERM "$SERVICE_PID" 2>/dev/null || true
        wait "$SERVICE_PID" 2>/dev/null || true
    fi
    SERVICE_PID=""
}

on_exit() {
    local status=$?
    if [[ -n $SERVICE_PID ]]; then
        stop_service
        say "(the consent-ivr service was stopped; its log: $DEMO_LOG)"
    fi
    exit "$status"
}

# A value of `sandbox.sh status --json`, by its dotted path (e.g. sip.port).
status_value() {
    SB_STATUS=$STATUS_JSON node -e '
        let v = JSON.parse(process.env.SB_STATUS);
        for (const k of process.argv[1].split(".")) v = v?.[k];
        process.stdout.write(v === undefined || v === null ? "" : String(v));' "$1"
}

# True when a Stasis application named $1 is registered in Asterisk (another
# consent-ivr service is connected under that name).
app_registered() {
    # shellcheck disable=SC2016  # JavaScript template literals, not shell
    SB_STATUS=$STATUS_JSON SB_APP=$1 node -e '
        const s = JSON.parse(process.env.SB_STATUS).ari;
        const auth = Buffer.from(`${s.user}:${s.password}`).toString("base64");
        fetch(`${s.url}/ari/applications/${encodeURIComponent(process.env.SB_APP)}`,
              { headers: { authorization: `Basic ${auth}` }, signal: AbortSignal.timeout(3000) })
          .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));'
}

# Watches one call on AMI, from its INVITE to its hangup: prints KEY=VALUE
# lines as it learns them (a later line overrides an earlier one) and exits at
# the hangup. Touches $2 once logged in, so that the call is placed only then.
watch_call() {
    local exten=$1 ready=$2
    SB_STATUS=$STATUS_JSON SB_EXTEN=$exten SB_READY=$ready SB_TIMEOUT=$CALL_TIMEOUT node - <<'EOF'
const net = require('node:net');
const fs = require('node:fs');
const e = process.env;
const ami = JSON.parse(e.SB_STATUS).amiTest;
let uid = null;
let dtmf = '';
const put = (k, v) => process.stdout.write(`${k}=${String(v).replace(/[\r\n]/g, ' ')}\n`);
const done = () => process.exit(0);
setTimeout(() => { put('TIMEOUT', 1); done(); }, Number(e.SB_TIMEOUT) * 1000);
const sock = net.connect(ami.port, ami.host);
let buf = '';
sock.on('error', (err) => { put('ERROR', err.message); done(); });
sock.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
    const msg = {};
    for (const line of buf.slice(0, i).split('\r\n')) {
      const c = line.indexOf(': ');
      if (c > 0) msg[line.slice(0, c)] = line.slice(c + 2);
    }
    buf = buf.slice(i + 4);
    if (msg.Response === 'Success' && msg.Message === 'Authentication accepted') fs.writeFileSync(e.SB_READY, '');
    if (msg.Response === 'Error') { put('ERROR', msg.Message); done(); }
    if (!msg.Event) continue;
    if (!uid) {
      if (msg.Event === 'Newchannel' && msg.Channel.startsWith('PJSIP/') && msg.Exten === e.SB_EXTEN) {
        uid = msg.Uniqueid;
        put('CHANNEL', msg.Channel);
        put('UNIQUEID', uid);
      }
      continue;
    }
    if (msg.Uniqueid !== uid) continue;
    if (msg.Event === 'VarSet' && /^CONSENT_/.test(msg.Variable)) put(msg.Variable, msg.Value);
    if (msg.Event === 'DTMFEnd' && msg.Direction === 'Received') put('DTMF', (dtmf += msg.Digit));
    if (msg.Event === 'Newexten' && msg.Application === 'Verbose') put('DIALPLAN', msg.AppData.replace(/^\d+,/, ''));
    if (msg.Event === 'DialEnd') put('AGENT', msg.DialStatus);
    if (msg.Event === 'Hangup') done();
  }
});
sock.write(`Action: Login\r\nUsername: ${ami.user}\r\nSecret: ${ami.secret}\r\nEvents: call,dialplan,dtmf\r\n\r\n`);
EOF
}

# One call: $1 scenario (test/sipp/*.xml), $2 number dialled, $3 title.
place_call() {
    local scenario=$1 exten=$2 title=$3
    local dir watch_out ready sipp_status=0 watcher
    dir=$STATE/sipp/demo-${scenario%.xml}-$(date +%Y%m%d-%H%M%S)
    mkdir -p "$dir"
    # SIPp looks for caller-audio.pcap next to the scenario.
    cp "$REPO/test/sipp/$scenario" "$dir/"
    cp "$CALLER_AUDIO" "$dir/caller-audio.pcap"
    watch_out=$dir/watch.txt
    ready=$dir/watch.ready

    step "$title"
    field "SIP" "INVITE sip:$exten@$SIP_HOST:$SIP_PORT (SIPp, $scenario: G.711 + telephone-event/8000)"
    watch_call "$exten" "$ready" >"$watch_out" &
    watcher=$!
    local waited=0
    until [[ -e $ready ]]; do
        kill -0 "$watcher" 2>/dev/null || die "cannot watch the call on AMI: $(cat "$watch_out")"
        ((waited++ < 100)) || die "AMI did not accept the login within 10 s"
        sleep 0.1
    done
    (cd "$dir" && sipp "$SIP_HOST:$SIP_PORT" -sf "$dir/$scenario" -s "$exten" \
        -i 127.0.0.1 -mi 127.0.0.1 -m 1 -l 1 -nostdin \
        -timeout "${CALL_TIMEOUT}s" -timeout_error \
        -trace_err -error_file "$dir/errors.log" >"$dir/sipp.txt" 2>&1) || sipp_status=$?
    # The watcher ends with the call; give it a moment, in case the call never started.
    waited=0
    while kill -0 "$watcher" 2>/dev/null && ((waited++ < 100)); do sleep 0.1; done
    kill "$watcher" 2>/dev/null || true
    wait "$watcher" 2>/dev/null || true

    local -A call=()
    local line
    while IFS= read -r line; do
        [[ $line == *=* ]] && call[${line%%=*}]=${line#*=}
    done <"$watch_out"
    if [[ -n ${call[ERROR]:-} ]]; then
        die "AMI: ${call[ERROR]}"
    fi
    if [[ -z ${call[UNIQUEID]:-} ]]; then
        die "the call never reached Asterisk (SIPp exit $sipp_status; see $dir/sipp.txt and $dir/errors.log)"
    fi
    local uid=${call[UNIQUEID]}
    field "channel" "${call[CHANNEL]} (UNIQUEID $uid)"
    field "keys received" "${call[DTMF]:-none} (RFC 4733 events decoded by Asterisk)"
    field "dialplan" "${call[DIALPLAN]:-(the routine did not return: the caller hung up)}"
    field "CONSENT_RESULT" "${call[CONSENT_RESULT]:-} (reason ${call[CONSENT_REASON]:-none})"
    field "CONSENT_LANG" "${call[CONSENT_LANG]:-unknown}"
    field "CONSENT_ID" "${call[CONSENT_ID]:-} (ledger id)"

    local ledger recording
    if ledger=$(node "$CLI" ledger show "$uid" --json --config "$CONFIG" 2>/dev/null); then
        field "ledger" "$(node -e '
            const r = JSON.parse(process.argv[1]);
            process.stdout.write("outcome " + r.outcome + ", digit " + (r.digit ?? "none") + ", language " + (r.language ?? "unknown"));' "$ledger")"
        field "" "(node dist/cli/main.js ledger show $uid)"
        recording=$(node -e 'process.stdout.write(String(JSON.parse(process.argv[1]).recordingPath ?? ""))' "$ledger")
    else
        recording=${call[CONSENT_RECORDING]:-}
        field "ledger" "no record found for $uid (see $DEMO_LOG)"
    fi
    if [[ -n $recording ]]; then
        field "recording" "$recording"
        if [[ -f $recording ]]; then
            field "duration" "$(soxi -D "$recording" | awk '{ printf "%.1f s", $1 }') (the conversation with the agent, not the notice)"
        else
            field "duration" "(file not found yet)"
        fi
    else
        field "recording" "none: nothing of this call was recorded"
    fi
    case ${call[AGENT]:-} in
        ANSWER) field "call" "went on to the agent, who hung up after a few seconds" ;;
        "") field "call" "ended before reaching the agent" ;;
        *) field "call" "agent leg: ${call[AGENT]}" ;;
    esac
    if ((sipp_status != 0)); then
        field "SIPp" "the call did not go as scripted (exit $sipp_status; see $dir/)"
    fi
}

main() {
    if [[ $EUID -ne 0 ]]; then
        die "run as root: the sandbox uses chroot and apt-get, and SIPp sends RTP through a raw socket (try: sudo npm run demo)"
    fi
    cd "$REPO"
    [[ -d node_modules ]] || die "run 'npm ci' first"
    trap on_exit EXIT

    say "consent-ivr demo: two SIP calls through Asterisk, the way a trunk delivers them"
    say "(SIP signalling, RTP audio, keys as RFC 4733 telephone-events; callers played by SIPp)"

    step "Sandbox: Asterisk 22 + Redis (bash scripts/sandbox.sh up; the first run installs them, a few minutes)"
    bash scripts/sandbox.sh up 2>&1 | sed 's/^/    /'

    step "Build (npm run build)"
    npm run --silent build
    say "    ok"

    STATUS_JSON=$(bash scripts/sandbox.sh status --json)
    SIP_HOST=$(status_value sip.host)
    SIP_PORT=$(status_value sip.port)
    local exten
    exten=$(status_value sip.exten)
    command -v sipp >/dev/null || die "sipp is missing (the sandbox installs the sip-tester package)"
    [[ -r $CALLER_AUDIO ]] || die "$CALLER_AUDIO is missing (it comes with the sip-tester package)"
    if app_registered "$APP"; then
        die "another consent-ivr service is already connected to Asterisk as '$APP' (npm start? a test?): stop it first"
    fi

    step "Service: starting consent-ivr (Stasis application '$APP')"
    mkdir -p "$LOG_DIR"
    CONSENT_IVR_METRICS_PORT=0 CONSENT_IVR_API_PORT=0 node "$CLI" start --config "$CONFIG" >"$DEMO_LOG" 2>&1 &
    SERVICE_PID=$!
    local waited=0
    until grep -q '"message":"consent-ivr ready"' "$DEMO_LOG" 2>/dev/null; do
        if ! kill -0 "$SERVICE_PID" 2>/dev/null; then
            SERVICE_PID=""
            tail -n 20 "$DEMO_LOG" >&2
            die "the service exited before it was ready (log: $DEMO_LOG)"
        fi
        ((waited++ < READY_TIMEOUT * 10)) || die "the service was not ready after $READY_TIMEOUT s (log: $DEMO_LOG)"
        sleep 0.1
    done
    field "pid" "$SERVICE_PID"
    field "log" "$DEMO_LOG"

    place_call accept.xml "$exten" "Call 1: the caller presses 1 (accept) during the notice, then talks"
    place_call refuse.xml "$((exten + 1))" "Call 2: the caller presses 2 (refuse) during the notice, then talks"

    step "Stopping the service (SIGTERM)"
    stop_service
    say "    stopped. The sandbox is still up: bash scripts/sandbox.sh status (npm run sandbox:down stops it)"
}

main "$@"
