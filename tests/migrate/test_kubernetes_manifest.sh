#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/migrate/test_kubernetes_manifest.sh BUILD_DIR - deploy/kubernetes/
# migrate-job.yaml checked as far as can be done without a cluster: valid YAML,
# an Indexed Job with completions = parallelism = SHARDS, restartPolicy Never,
# the shard from JOB_COMPLETION_INDEX, the shared volume mounted where the
# command puts state and reports; the ConfigMap's plan is a valid plan; and the
# command line, with the index filled in, is one imgtool accepts (--dry-run).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
find_imgtool test_kubernetes_manifest "$build"
need_tools test_kubernetes_manifest python3
M=$top/deploy/kubernetes/migrate-job.yaml
T=$(mktemp -d /tmp/imgtool-k8s.XXXXXX)
trap 'rm -rf "$T"' EXIT

check "the manifest is valid YAML with an Indexed Job and its ConfigMap" python3 - "$M" "$T" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = {d["kind"]: d for d in docs}
job, cm = kinds["Job"], kinds["ConfigMap"]
assert job["apiVersion"] == "batch/v1"
spec = job["spec"]
assert spec["completionMode"] == "Indexed"
c = spec["template"]["spec"]["containers"][0]
env = {e["name"]: e["value"] for e in c.get("env", [])}
assert spec["completions"] == spec["parallelism"] == int(env["SHARDS"]), "completions, parallelism and SHARDS differ"
assert spec["template"]["spec"]["restartPolicy"] in ("Never", "OnFailure")
cmd = " ".join(c["command"] + c["args"])
assert '--shard "${JOB_COMPLETION_INDEX}/${SHARDS}"' in cmd
mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
vols = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
assert "/migrate" in mounts and "persistentVolumeClaim" in vols[mounts["/migrate"]]
assert "/plan" in mounts and vols[mounts["/plan"]]["configMap"]["name"] == cm["metadata"]["name"]
assert "--state /migrate/state" in cmd and "/plan/plan.yaml" in cmd
open(sys.argv[2] + "/plan.yaml", "w").write(cm["data"]["plan.yaml"])
open(sys.argv[2] + "/args", "w").write(c["args"][0])
open(sys.argv[2] + "/shards", "w").write(env["SHARDS"])
PY
shards=$(cat "$T/shards")
check "the ConfigMap's plan is valid (sources aside: they are remote)" \
	sh -c "'$IMGTOOL' migrate --dry-run '$T/plan.yaml' >/dev/null"
# the pod's command with index 1 filled in, imgtool swapped for a dry run
args=$(sed -e "s|/plan/plan.yaml|$T/plan.yaml|; s|/migrate/state|$T/state|g; s|^exec imgtool migrate|exec '$IMGTOOL' migrate --dry-run|" "$T/args")
check "pod 1's command line is one imgtool accepts" \
	env JOB_COMPLETION_INDEX=1 SHARDS="$shards" sh -c "$args >/dev/null"
exit 0
