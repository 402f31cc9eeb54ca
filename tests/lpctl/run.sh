#!/bin/bash
# End-to-end tests of lpctl on the example files and on malformed inputs.
# Usage: LPCTL=build/lpctl tests/lpctl/run.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
LPCTL=${LPCTL:-$top/build/lpctl}
PY=/usr/bin/python3
ex=$top/examples
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok()   { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; [ -s "$tmp/err" ] && sed 's/^/       /' "$tmp/err" | head -5; }

# run EXPECTED_EXIT NAME -- ARGS...: run lpctl, keep stdout/stderr, check the exit status.
run() {
    local want=$1 name=$2
    shift 3
    "$LPCTL" "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then ok "$name (exit $got)"; return 0; fi
    fail "$name: exit $got, wanted $want"
    return 1
}

# json_check NAME PYTHON-EXPR: evaluate EXPR with `p` = the JSON plan on stdout.
json_check() {
    if $PY -c "import json,sys,collections; p=json.load(open('$tmp/out')); sys.exit(0 if ($2) else 1)" 2>>"$tmp/err"; then
        ok "$1"
    else
        fail "$1"; sed 's/^/       /' "$tmp/out" | head -20
    fi
}

# ---- acceptance scenarios on the research testbed --------------------------
run 0 "16 cpu workers on the empty testbed" -- place --cluster "$ex/testbed.json" --requests "$ex/requests-spark.json" --json
json_check "4 workers per host" \
  "sorted(collections.Counter(x['host'] for x in p['placements']).values()) == [4,4,4,4]"
json_check "all workers run as unikernel VMs" \
  "all(x['runtime'] == 'unikernel' for x in p['placements'])"

run 3 "a 17th cpu worker is refused" -- place --cluster "$ex/testbed.json" --requests "$ex/requests-spark-17.json" --json
json_check "16 placed, 1 unplaced" "p['placed'] == 16 and p['unplaced'] == 1"
json_check "the refusal names parallelism for every host" \
  "len(p['refusals']) == 1 and sorted(p['refusals'][0]['hosts']) == ['pc1','pc2','pc3','pc4'] and all('parallelism' in t for t in p['refusals'][0]['hosts'].values())"
run 3 "human output of the refusal" -- place --cluster "$ex/testbed.json" --requests "$ex/requests-spark-17.json"
if grep -q "UNPLACED" "$tmp/out" && [ "$(grep -c 'fail parallelism' "$tmp/out")" -eq 4 ]; then
    ok "human output lists a parallelism refusal per host"
else fail "human output lists a parallelism refusal per host"; fi

run 0 "6 communicating web servers" -- place --cluster "$ex/testbed.json" --requests "$ex/requests-tomcat.json" --json
json_check "all 6 on one host" "len({x['host'] for x in p['placements']}) == 1 and len(p['placements']) == 6"
json_check "all 6 as containers" "all(x['runtime'] == 'container' for x in p['placements'])"

run 0 "parallel request on a cluster with a busy host" -- place --cluster "$ex/testbed-busy.json" --requests "$ex/requests-parallel.json" --json
json_check "the host with demand 7.5 is avoided" "p['placements'][0]['host'] not in (None, 'pc3')"
run 0 "explain shows why pc3 was refused" -- explain --cluster "$ex/testbed-busy.json" --requests "$ex/requests-parallel.json"
if grep -E '^ +pc3 .*fail parallelism.*7\.50' "$tmp/out" >/dev/null; then ok "pc3: fail parallelism at 7.50"
else fail "pc3: fail parallelism at 7.50"; sed 's/^/       /' "$tmp/out"; fi

run 0 "requests classified from measured metrics" -- place --cluster "$ex/testbed.json" --requests "$ex/requests-auto.json" --json
json_check "cruncher is cpu/unikernel, frontend is net/container" \
  "[(x['class'], x['runtime']) for x in p['placements']] == [('cpu','unikernel')]*2 + [('net','container')]*2"

run 0 "classify observed workloads" -- classify --cluster "$ex/observed.json" --json
json_check "classes of the observed workloads" \
  "{w['id']: w['class'] for w in p['workloads']} == {'spark-worker-a':'cpu','tomcat-a':'net','postgres-a':'io','etl-a':'mixed','cron-a':'idle'}"

run 0 "policy: ratio 2.0 lets 8 workers share a host" -- place --cluster "$ex/testbed.json" --requests "$ex/requests-spark-17.json" --set max_parallel_ratio=2.0 --json
json_check "17 placed with ratio 2.0" "p['placed'] == 17"
run 0 "runtime order: cpu prefers vm" -- place --cluster "$ex/testbed.json" --requests "$ex/requests-parallel.json" --order cpu=vm --json
json_check "cpu worker runs as vm" "p['placements'][0]['runtime'] == 'vm'"

for f in "$ex"/*.json; do
    run 0 "validate $(basename "$f")" -- validate "$f"
done
run 0 "params lists the policy" -- params
grep -q '^max_parallel_ratio' "$tmp/out" && ok "params shows max_parallel_ratio" || fail "params shows max_parallel_ratio"

# validate tells the kinds apart by the top-level key, wherever the words occur inside
printf '{"hosts": [{"host": "requests", "cpu": {"threads": 8}, "workloads": [{"id": "schema"}]}]}' > "$tmp/k-cluster.json"
printf '{"host": "pc1", "cpu": {"threads": 8}, "workloads": [{"id": "w", "group": "hosts"}], "schema": "libplacement/snapshot/v1"}' > "$tmp/k-snapshot.json"
printf '{"requests": [{"id": "hosts"}, {"id": "schema"}]}' > "$tmp/k-requests.json"
for k in "k-cluster.json:cluster file, 1 host)" "k-snapshot.json:snapshot, 1 host)" "k-requests.json:request file, 2 requests)"; do
    run 0 "validate ${k%%:*}" -- validate "$tmp/${k%%:*}"
    grep -qF "${k#*:}" "$tmp/out" && ok "${k%%:*} is a ${k#*:}" || fail "${k%%:*} is a ${k#*:} (got: $(cat "$tmp/out"))"
done

# output that cannot be written is a failure (exit 1), not a silent success
"$LPCTL" place --cluster "$ex/testbed.json" --requests "$ex/requests-spark.json" >/dev/full 2>"$tmp/err"
got=$?
[ "$got" -eq 1 ] && grep -q "cannot write the output" "$tmp/err" && ok "place >/dev/full exits 1 (exit $got)" \
    || fail "place >/dev/full: exit $got, wanted 1 with a message"

# ---- rebalance: back within every cap, and runtime switches -----------------
now=1767225600
run 0 "rebalance the overloaded testbed" -- rebalance --cluster "$ex/testbed-overloaded.json" --now $now --json
json_check "one move, pc1 -> pc4, every host within its cap" \
  "[(m['workload'], m['source'], m['destination']) for m in p['moves']] == [('spark-1','pc1','pc4')] and p['hosts_over_before'] == 1 and p['hosts_over_after'] == 0 and p['optimal']"
json_check "the net workload in a VM is recommended a container" \
  "[(s['workload'], s['from'], s['to'], s['class']) for s in p['switches']] == [('tomcat-1','vm','container','net')]"
json_check "every host's demand before and after" \
  "[(h['host'], h['demand_before'], h['demand_after']) for h in p['hosts']] == [('pc1',10,8),('pc2',5.5,5.5),('pc3',6,6),('pc4',2,4)]"
run 0 "rebalance prints the plan" -- rebalance --cluster "$ex/testbed-overloaded.json" --now $now
if grep -q "^move 1: spark-1 pc1 -> pc4" "$tmp/out" && grep -q "from pc1 (demand 10.00 > cap 8.00) to pc4: demand 2.00 + 2.00 = 4.00 <= cap 8.00" "$tmp/out"; then
    ok "text output explains the move"
else fail "text output explains the move"; sed 's/^/       /' "$tmp/out"; fi
printf '# moved yesterday evening\n' > "$tmp/history"
for i in 1 2 3 4 5; do printf 'spark-%s %s\n' "$i" $((now - 600)) >> "$tmp/history"; done
run 3 "workloads in cool-down stay: pc1 stays over" -- rebalance --cluster "$ex/testbed-overloaded.json" --now $now --history "$tmp/history"
if grep -q "^over: pc1" "$tmp/out" && grep -q "in cool-down" "$tmp/out"; then ok "the host says why it stays over"
else fail "the host says why it stays over"; sed 's/^/       /' "$tmp/out"; fi
run 0 "after the cool-down they move again" -- rebalance --cluster "$ex/testbed-overloaded.json" --now $now --history "$tmp/history" --cooldown 300
run 0 "no switch when the class must hold for 3 hours" -- rebalance --cluster "$ex/testbed-overloaded.json" --now $now --switch-min-age 10800 --json
json_check "no switch recommended" "p['switches'] == []"
printf 'spark-1 yesterday\n' > "$tmp/badhist"
run 2 "a bad history line is refused" -- rebalance --cluster "$ex/testbed-overloaded.json" --history "$tmp/badhist"
if grep -q "badhist: line 1: expected 'WORKLOAD UNIX-TIME'" "$tmp/err"; then ok "the message names the file and line"
else fail "the message names the file and line"; fi
run 2 "a margin out of range is refused" -- rebalance --cluster "$ex/testbed-overloaded.json" --margin 2
if grep -q "\-\-margin '2': expected a number from 0 to 1" "$tmp/err"; then ok "the message names the option and range"
else fail "the message names the option and range"; fi
run 2 "rebalance needs a cluster" -- rebalance
run 0 "rebalance --help" -- rebalance --help

# ---- usage -----------------------------------------------------------------
for c in validate classify place explain params; do
    run 0 "$c --help" -- "$c" --help
    grep -q "usage: lpctl $c" "$tmp/out" && ok "$c --help prints usage" || fail "$c --help prints usage"
done
run 0 "--help" -- --help
run 2 "no command" --
run 2 "unknown command" -- frobnicate
run 2 "place without --requests" -- place --cluster "$ex/testbed.json"
run 2 "classify with --requests" -- classify --cluster "$ex/testbed.json" --requests "$ex/requests-spark.json"
run 2 "params with an argument" -- params --bogus
grep -q "bogus" "$tmp/err" && ok "message names the argument" || fail "message names the argument"
run 2 "unknown policy parameter" -- place --cluster "$ex/testbed.json" --requests "$ex/requests-spark.json" --set nonsense=1
grep -q "nonsense" "$tmp/err" && ok "message names the parameter" || fail "message names the parameter"
run 2 "policy value out of range" -- place --cluster "$ex/testbed.json" --requests "$ex/requests-spark.json" --set max_parallel_ratio=-1
run 2 "missing file" -- validate "$tmp/does-not-exist.json"
grep -q "does-not-exist.json" "$tmp/err" && ok "message names the missing file" || fail "message names the missing file"

# ---- malformed inputs: each exits 2 with a message naming the problem --------
# file : regex the message must match (besides the file name)
bad_cases=(
  "truncated.json:line"
  "wrong-type.json:threads"
  "negative-threads.json:threads"
  "zero-threads.json:threads"
  "negative-demand.json:demand"
  "huge-number.json:memory_mb|line"
  "nan.json:memory_mb|line"
  "trailing-garbage.json:trailing|line"
  "unknown-schema.json:schema.*v9|v9.*schema"
  "duplicate-host.json:duplicate"
  "unknown-runtime.json:jail"
  "unknown-field.json:memroy_mb"
  "not-an-object.json:object"
  "empty.json:empty|line"
  "requests-zero-count.json:count"
  "requests-bad-class.json:bogus"
  "requests-fractional-count.json:count"
  "requests-negative-vcpus.json:vcpus"
)
# generated cases: deep nesting and an oversized file
$PY -c "import sys; sys.stdout.write('{\"hosts\": ' + '['*5000 + ']'*5000 + '}')" > "$tmp/deep-nesting.json"
bad_cases+=("$tmp/deep-nesting.json:depth|nest")
{ printf '{"hosts": ['; head -c $((65 * 1024 * 1024)) /dev/zero | tr '\0' ' '; printf ']}'; } > "$tmp/oversized.json"
bad_cases+=("$tmp/oversized.json:limit|large")

for case in "${bad_cases[@]}"; do
    f=${case%%:*}; want=${case#*:}
    case $f in /*) path=$f ;; *) path=$here/bad/$f ;; esac
    name=$(basename "$f")
    run 2 "validate rejects $name" -- validate "$path"
    if grep -q -- "$name" "$tmp/err" && grep -Eiq -- "$want" "$tmp/err"; then
        ok "$name: message names the file and the problem ($(head -c 150 "$tmp/err" | tr '\n' ' '))"
    else
        fail "$name: message should name the file and match /$want/"
    fi
    if [[ $name == requests-* ]]; then
        run 2 "place rejects $name" -- place --cluster "$ex/testbed.json" --requests "$path"
    else
        run 2 "place rejects $name" -- place --cluster "$path" --requests "$ex/requests-spark.json"
    fi
done

echo "lpctl: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
