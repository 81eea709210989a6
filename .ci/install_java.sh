#!/usr/bin/env bash
# Installs a Java runtime from Debian's packages for the Spark tests (tests/test_spark.py: PySpark in local mode)
# when there is none, or only one older than Spark 4 needs (17). Needs root (CI).
set -euo pipefail
java_major() {
    # "openjdk version "17.0.15" ..." or "1.8.0_392" -> 17 or 8
    java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\.\{0,1\}\([0-9]*\).*/\1 \2/p' | head -n 1 |
        awk '{ print ($1 == 1) ? $2 : $1 }'
}
if command -v java >/dev/null 2>&1 && [ "$(java_major)" -ge 17 ] 2>/dev/null; then
    echo "java present: $(java -version 2>&1 | head -n 1)"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# Debian 12's JRE 17; a newer Debian's default JRE (21 or later) where 17 is gone.
apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    || apt-get install -y --no-install-recommends default-jre-headless
if [ "$(java_major)" -lt 17 ] 2>/dev/null; then  # an older java still first on PATH: point to the new one
    newest=$(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -V | tail -n 1)
    update-alternatives --set java "$newest"
fi
java -version 2>&1 | head -n 1
