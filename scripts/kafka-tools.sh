#!/usr/bin/env bash
# Fetches Apache Kafka's broker jars (pinned in scripts/kafka/pom.xml) and their dependencies into
# .tools/kafka/lib with Maven, once; the tests and `edge bench pipeline --broker kafka` start the
# broker from there. Safe to run again: with the jars in place it only prints what it found.
# Prints one line on success, Maven's output only on failure.
#
# Environment:
#   TOOLS_DIR   where to install (default: <repo>/.tools)
#   MVN         the Maven command (default: mvn)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools_dir=${TOOLS_DIR:-"$repo_root/.tools"}
pom="$repo_root/scripts/kafka/pom.xml"
lib="$tools_dir/kafka/lib"
stamp="$tools_dir/kafka/fetched-from.pom"
mvn=${MVN:-mvn}

report() {
    printf 'apache kafka %s: %s jars in %s\n' \
        "$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")" "$(ls "$lib" | wc -l)" "$lib"
}

if [[ -f "$stamp" ]] && cmp -s "$stamp" "$pom"; then
    report
    exit 0
fi
command -v "$mvn" >/dev/null || { echo "kafka-tools: Maven ($mvn) is needed to fetch Kafka's jars" >&2; exit 1; }
command -v java >/dev/null || { echo "kafka-tools: a Java 17+ runtime is needed to run Kafka" >&2; exit 1; }

mkdir -p "$tools_dir/kafka"
work=$(mktemp -d "$tools_dir/kafka/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
if ! "$mvn" -B -q -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$work/lib" >"$work/log" 2>&1; then
    cat "$work/log" >&2
    echo "kafka-tools: Maven could not fetch the jars named in $pom" >&2
    exit 1
fi
rm -rf "$lib"
mv "$work/lib" "$lib"
cp "$pom" "$stamp"
report
