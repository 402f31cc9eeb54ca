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
json_check "one summary line per refusal, as kube-scheduler's '0/4 nodes are available'" \
  "p['refusals'][0]['summary'] == p['placements'][16]['explain'] == '0/4 hosts can take spark-pi#16: 4 parallelism'"
run 3 "human output of the refusal" -- place --cluster "$ex/testbed.json" --requests "$ex/requests-spark-17.json"
if grep -q "UNPLACED" "$tmp/out" && [ "$(grep -c 'fail parallelism' "$tmp/out")" -eq 4 ]; then
    ok "human output lists a parallelism refusal per host"
else fail "human output lists a parallelism refusal per host"; fi
grep -qx "spark-pi#16 -> UNPLACED  0/4 hosts can take spark-pi#16: 4 parallelism" "$tmp/out" \
    && ok "human output has the summary line" || fail "human output has the summary line"
[ "$(grep -c 'cap 8.00 (8 threads x 1.00) for class cpu' "$tmp/out")" -eq 4 ] \
    && ok "human refusals show the host's threads and ratio" || fail "human refusals show the host's threads and ratio"

run 0 "6 communicating web servers" -- place --cluster "$ex/testbed.json" --requests "$ex/requests-tomcat.json" --json
json_check "all 6 on one host" "len({x['host'] for x in p['placements']}) == 1 and len(p['placements']) == 6"
json_check "all 6 as containers" "all(x['runtime'] == 'container' for x in p['placements'])"

run 0 "parallel request on a cluster with a busy host" -- place --cluster "$ex/testbed-busy.json" --requests "$ex/requests-parallel.json" --json
json_check "the host with demand 7.5 is avoided" "p['placements'][0]['host'] not in (None, 'pc3')"
run 0 "explain shows why pc3 was refused" -- explain --cluster "$ex/testbed-busy.json" --requests "$ex/requests-parallel.json"
if grep -E '^ +pc3 .*fail parallelism.*7\.50' "$tmp/out" >/dev/null; then ok "pc3: fail parallelism at 7.50"
else fail "pc3: fail parallelism at 7.50"; sed 's/^/       /' "$tmp/out"; fi

# text and JSON say the same: every instance's line, every unplaced instance's summary and
# every host's refusal (its threads, runtimes, and the memory earlier instances left)
cat > "$tmp/mixed-cluster.json" <<'JSON'
{"hosts": [
 {"host": "pc1", "cpu": {"cores": 4, "threads": 8}, "memory_mb": 16384, "runtimes": ["container"],
  "workloads": [{"id": "nginx-a", "runtime": "container", "threads": 46, "vcpus": 2, "demand": 0.3,
                 "class": "net", "memory_mb": 512}]},
 {"host": "pc2", "cpu": {"cores": 4, "threads": 8}, "memory_mb": 16384,
  "runtimes": ["container", "unikernel", "vm"]},
 {"host": "pc3", "cpu": {"cores": 4, "threads": 8}, "memory_mb": 16384,
  "runtimes": ["container", "unikernel", "vm"], "load": {"demand": 7.5},
  "workloads": [{"id": "batch-vm", "runtime": "vm", "vcpus": 6, "demand": 7.2, "class": "cpu",
                 "memory_mb": 4096}]}]}
JSON
cat > "$tmp/mixed-requests.json" <<'JSON'
{"requests": [
 {"id": "solver", "vcpus": 1, "class": "cpu", "runtimes": ["container"]},
 {"id": "spark", "count": 5, "vcpus": 2, "memory_mb": 2048, "class": "cpu", "group": "spark"},
 {"id": "web", "count": 5, "vcpus": 1, "memory_mb": 6144, "class": "net", "demand": 0.25,
  "group": "web"}]}
JSON
cat > "$tmp/same.py" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().splitlines()
refusals = iter(plan['refusals'])
i = 0
for p in plan['placements']:
    head = '%s#%d -> %s  ' % (p['request'], p['instance'], p['host'] or 'UNPLACED')
    assert lines[i] == head + p['explain'], (lines[i], head + p['explain'])
    i += 1
    if p['host'] is None:
        r = next(refusals)
        assert r['summary'] == p['explain'], r
        for host, why in r['hosts'].items():
            assert lines[i].split(None, 1) == [host, why], (lines[i], host, why)
            i += 1
    while lines[i].startswith('  '):  # explain: every host under a placed instance
        i += 1
assert lines[i:] == ['placed %d of %d instances' % (plan['placed'], len(plan['placements']))], lines[i:]
PY
for cmd in place explain; do
    run 3 "$cmd on a cluster with runtimes, memory and busy hosts" -- $cmd --cluster "$tmp/mixed-cluster.json" --requests "$tmp/mixed-requests.json"
    mv "$tmp/out" "$tmp/$cmd.txt"
    run 3 "$cmd --json on the same" -- $cmd --cluster "$tmp/mixed-cluster.json" --requests "$tmp/mixed-requests.json" --json
    if $PY "$tmp/same.py" "$tmp/out" "$tmp/$cmd.txt" 2>"$tmp/err"; then ok "$cmd: text and JSON say the same"
    else fail "$cmd: text and JSON say the same"; sed 's/^/       /' "$tmp/$cmd.txt" | head -30; fi
done
for want in "pc2 +fail runtime: host offers container\|unikernel\|vm, none that class cpu may use" \
            "pc1 +fail memory: needs 6144 MB, 3584 MB free" \
            "^web#4 -> UNPLACED  0/3 hosts can take web#4: 2 parallelism, 1 memory$" \
            "^solver#0 -> UNPLACED  0/3 hosts can take solver#0: 2 runtime, 1 parallelism$"; do
    grep -Eq "$want" "$tmp/explain.txt" && ok "explain says: $want" || fail "explain says: $want"
done
grep -Eq "^  \* pc2 +pass: demand 0.00 \+ 2.00 = 2.00" "$tmp/explain.txt" \
    && ok "explain marks the chosen host" || fail "explain marks the chosen host"

# an empty cluster says that it has no hosts
printf '{"hosts": []}' > "$tmp/empty.json"
run 3 "place on an empty cluster" -- place --cluster "$tmp/empty.json" --requests "$ex/requests-parallel.json"
grep -q "^render#0 -> UNPLACED  0/0 hosts can take render#0: the cluster has no hosts$" "$tmp/out" \
    && ok "the refusal says the cluster has no hosts" || fail "the refusal says the cluster has no hosts"
run 3 "place --json on an empty cluster" -- place --cluster "$tmp/empty.json" --requests "$ex/requests-parallel.json" --json
json_check "the JSON says the cluster has no hosts" \
  "p['placements'][0]['explain'] == p['refusals'][0]['summary'] == '0/0 hosts can take render#0: the cluster has no hosts'"
run 0 "classify an empty cluster" -- classify --cluster "$tmp/empty.json"
grep -q "the cluster has no hosts" "$tmp/out" && ok "classify says the cluster has no hosts" \
    || fail "classify says the cluster has no hosts"

run 0 "requests classified from measured metrics" -- place --cluster "$ex/testbed.json" --requests "$ex/requests-auto.json" --json
json_check "cruncher is cpu/unikernel, frontend is net/container" \
  "[(x['class'], x['runtime']) for x in p['placements']] == [('cpu','unikernel')]*2 + [('net','container')]*2"

run 0 "classify observed workloads" -- classify --cluster "$ex/observed.json" --json
json_check "classes of the observed workloads" \
  "{w['id']: w['class'] for w in p['workloads']} == {'spark-worker-a':'cpu','tomcat-a':'net','postgres-a':'io','etl-a':'mixed','cron-a':'idle'}"

run 0 "classify observed workloads, text" -- classify --cluster "$ex/observed.json"
if head -1 "$tmp/out" | grep -Eq '^HOST +WORKLOAD +CLASS +CONF +REASONS$' && [ "$(wc -l < "$tmp/out")" -eq 6 ]; then
    ok "classify prints a header line, then one line per workload"
else fail "classify prints a header line, then one line per workload"; sed 's/^/       /' "$tmp/out"; fi

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
run 0 "a pinned workload never moves: another one does" -- rebalance --cluster "$ex/testbed-overloaded.json" --now $now --pin spark-1 --pin=spark-2 --json
json_check "spark-1 and spark-2 stay, spark-3 moves" "[m['workload'] for m in p['moves']] == ['spark-3']"
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
run 3 "rebalance options as --opt=value: cool-down keeps pc1 over" -- rebalance --cluster="$ex/testbed-overloaded.json" --now=$now --history="$tmp/history"
grep -q "^over: pc1" "$tmp/out" && ok "--history=FILE and --now=T are read" || fail "--history=FILE and --now=T are read"
run 0 "rebalance --cooldown=300 --switch-min-age=10800 --json" -- rebalance --cluster="$ex/testbed-overloaded.json" --now=$now --history="$tmp/history" --cooldown=300 --switch-min-age=10800 --margin=0.05 --max-moves=4 --switch-confidence=0.8 --search-budget=1000 --json --pretty
json_check "the moves happen and no switch is recommended" "len(p['moves']) == 1 and p['switches'] == []"
run 2 "rebalance --margin=2 is checked like --margin 2" -- rebalance --cluster="$ex/testbed-overloaded.json" --margin=2
grep -q "\-\-margin '2': expected a number from 0 to 1" "$tmp/err" && ok "the message names the option and range" \
    || fail "the message names the option and range"
run 2 "rebalance needs a cluster" -- rebalance
run 0 "rebalance --help" -- rebalance --help

# ---- usage -----------------------------------------------------------------
for c in validate classify place explain params; do
    run 0 "$c --help" -- "$c" --help
    grep -q "usage: lpctl $c" "$tmp/out" && ok "$c --help prints usage" || fail "$c --help prints usage"
done
run 0 "--help" -- --help
run 0 "help" -- help
grep -q "^usage: lpctl COMMAND" "$tmp/out" && ok "help prints the usage" || fail "help prints the usage"
for c in validate classify place explain rebalance fetch params; do
    run 0 "help $c" -- help "$c"
    grep -q "usage: lpctl $c" "$tmp/out" && ok "help $c prints the command's usage" || fail "help $c prints the command's usage"
done
run 2 "help of an unknown command" -- help frobnicate
grep -q "frobnicate" "$tmp/err" && ok "message names the command" || fail "message names the command"
run 2 "help of two commands" -- help place explain

# every option that takes a value also takes --name=value
run 0 "place --cluster=FILE --requests=FILE --json" -- place --cluster="$ex/testbed.json" --requests="$ex/requests-spark.json" --json
json_check "16 placed" "p['placed'] == 16"
run 0 "--set=NAME=VALUE" -- place --cluster="$ex/testbed.json" --requests="$ex/requests-spark-17.json" --set=max_parallel_ratio=2.0 --json
json_check "17 placed with --set=max_parallel_ratio=2.0" "p['placed'] == 17"
run 0 "--order=CLASS=LIST" -- place --cluster "$ex/testbed.json" --requests "$ex/requests-parallel.json" --order=cpu=vm --json
json_check "cpu worker runs as vm with --order=cpu=vm" "p['placements'][0]['runtime'] == 'vm'"
run 0 "explain --cluster=FILE" -- explain --cluster="$ex/testbed-busy.json" --requests="$ex/requests-parallel.json"
run 0 "classify --cluster=FILE" -- classify --cluster="$ex/observed.json" --json
json_check "5 workloads classified" "len(p['workloads']) == 5"
run 2 "a flag given a value" -- place --cluster "$ex/testbed.json" --requests "$ex/requests-spark.json" --json=yes
grep -q "option --json takes no value" "$tmp/err" && ok "message says --json takes no value" || fail "message says --json takes no value"
run 2 "--cluster= with no file" -- place --cluster= --requests "$ex/requests-spark.json"
run 2 "--cluster without a value" -- classify --cluster
grep -q "option --cluster needs a value" "$tmp/err" && ok "message says --cluster needs a value" || fail "message says --cluster needs a value"
run 2 "fetch --timeout-ms=VALUE is parsed" -- fetch --url-template='http://{host}:9/v1/snapshot' --timeout-ms=soon h1
grep -q "\-\-timeout-ms 'soon'" "$tmp/err" && ok "fetch names the option and value" || fail "fetch names the option and value"
run 2 "fetch --json=1" -- fetch --url-template='http://{host}:9/v1/snapshot' --json=1 h1
run 2 "fetch --bogus=1" -- fetch --url-template='http://{host}:9/v1/snapshot' --bogus=1 h1
grep -q "unknown option --bogus=1" "$tmp/err" && ok "fetch names the unknown option" || fail "fetch names the unknown option"
run 2 "fetch --hosts-file=FILE" -- fetch --url-template='http://{host}:9/v1/snapshot' --hosts-file="$tmp/does-not-exist"
grep -q "does-not-exist: cannot open" "$tmp/err" && ok "fetch opens the --hosts-file= file" || fail "fetch opens the --hosts-file= file"
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
