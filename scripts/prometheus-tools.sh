#!/usr/bin/env bash
# Installs promtool and prometheus, which the alert-rule tests use, into .tools/bin, from Debian's
# `prometheus` package (fetched with `apt-get download`, unpacked with `dpkg-deb -x`: no root, no
# system install). Safe to run again: when .tools/bin/promtool already runs, it only prints the
# version. Prints one line on success, details only on failure.
#
# Environment:
#   PROMETHEUS_DEB  a prometheus .deb to unpack instead of downloading one
#   TOOLS_DIR       where to install (default: <repo>/.tools)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools_dir=${TOOLS_DIR:-"$repo_root/.tools"}
promtool_bin="$tools_dir/bin/promtool"

report_version() {
    printf '%s (%s)\n' "$("$promtool_bin" --version 2>&1 | head -n 1)" "$promtool_bin"
}

if [[ -x "$promtool_bin" ]] && "$promtool_bin" --version >/dev/null 2>&1; then
    report_version
    exit 0
fi

mkdir -p "$tools_dir"
work=$(mktemp -d "$tools_dir/.prometheus-tools.XXXXXX")
trap 'rm -rf "$work"' EXIT
log="$work/log"

fail() {
    echo "prometheus-tools: $1" >&2
    [[ -s "$log" ]] && cat "$log" >&2
    exit 1
}

deb=${PROMETHEUS_DEB:-}
if [[ -z "$deb" ]]; then
    command -v apt-get >/dev/null || fail "apt-get is needed to fetch Debian's prometheus package (or set PROMETHEUS_DEB)"
    (cd "$work" && apt-get download prometheus) >"$log" 2>&1 || fail "apt-get download prometheus failed"
    deb=$(find "$work" -maxdepth 1 -name 'prometheus_*.deb' | head -n 1)
    [[ -n "$deb" ]] || fail "apt-get download produced no prometheus .deb"
fi
command -v dpkg-deb >/dev/null || fail "dpkg-deb is needed to unpack $deb"
dpkg-deb -x "$deb" "$work/root" >>"$log" 2>&1 || fail "could not unpack $deb"
for tool in promtool prometheus; do
    [[ -x "$work/root/usr/bin/$tool" ]] || fail "$deb holds no usr/bin/$tool"
    "$work/root/usr/bin/$tool" --version >>"$log" 2>&1 || fail "the unpacked $tool does not run"
done

# Move into place last, so an interrupted run never leaves a half-written binary in bin/.
mkdir -p "$tools_dir/bin"
for tool in prometheus promtool; do
    mv -f "$work/root/usr/bin/$tool" "$tools_dir/bin/$tool.partial"
    mv -f "$tools_dir/bin/$tool.partial" "$tools_dir/bin/$tool"
done
report_version
