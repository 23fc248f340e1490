# Shared by bin/keelson and bin/test: selects a JDK >= 25 and builds what is missing.
# Sourced, not run. Sets KEELSON_ROOT, JAVA_HOME, JAVA.

KEELSON_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KEELSON_MIN_JDK=25

keelson_log() { printf 'keelson: %s\n' "$*" >&2; }

# Prints the feature version of the java binary given (e.g. 25), or nothing.
keelson_java_version() {
  local v
  v=$("$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  printf '%s' "${v%%.*}"
}

# JAVA_HOME first, then every JDK under /usr/lib/jvm, newest first.
keelson_select_jdk() {
  local candidate v
  for candidate in "${JAVA_HOME:-}" $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    candidate=${candidate%/}
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    v=$(keelson_java_version "$candidate/bin/java")
    if [ -n "$v" ] && [ "$v" -ge "$KEELSON_MIN_JDK" ]; then
      export JAVA_HOME=$candidate
      export PATH="$JAVA_HOME/bin:$PATH"
      JAVA="$JAVA_HOME/bin/java"
      return 0
    fi
  done
  keelson_log "no JDK >= $KEELSON_MIN_JDK found (looked at JAVA_HOME and /usr/lib/jvm/*)."
  keelson_log "install one, e.g. 'apt-get install temurin-25-jdk', or point JAVA_HOME at it."
  return 1
}

# Debian packages the project needs at run or test time. Installs only what is missing, only as root.
keelson_ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    keelson_log "missing Debian packages (not root, so not installing): ${missing[*]}"
    return 0
  fi
  keelson_log "installing Debian packages: ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/tmp/keelson-apt.log 2>&1; then
    apt-get update -q >>/tmp/keelson-apt.log 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >>/tmp/keelson-apt.log 2>&1 \
      || { keelson_log "apt-get install failed; see /tmp/keelson-apt.log"; return 1; }
  fi
}

# The newest file under the sources and build files, as seconds since the epoch.
keelson_sources_mtime() {
  # `|| true`: a missing directory (dataplane-native before it exists) must not end the launcher under pipefail.
  { find "$KEELSON_ROOT"/pom.xml "$KEELSON_ROOT"/*/pom.xml "$KEELSON_ROOT"/*/src/main \
       "$KEELSON_ROOT"/dataplane-native -type f -printf '%T@\n' 2>/dev/null || true; } | sort -n | tail -1 | cut -d. -f1
}

# Builds the Java modules (and the native shim where DPDK is installed) when sources are newer than the last build.
keelson_build_if_needed() {
  local stamp="$KEELSON_ROOT/control/target/.keelson-built"
  local newest built=0
  newest=$(keelson_sources_mtime)
  [ -f "$stamp" ] && built=$(stat -c %Y "$stamp")
  if [ ! -f "$KEELSON_ROOT/control/target/runtime-classpath.txt" ] \
     || [ ! -f "$KEELSON_ROOT/jmh-benchmarks/target/runtime-classpath.txt" ] \
     || [ "${newest:-0}" -gt "$built" ]; then
    keelson_log "building Keelson (Maven, tests skipped; the first build downloads dependencies and takes a minute or two)..."
    local start=$SECONDS
    (cd "$KEELSON_ROOT" && MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" mvn -B -q -Dstyle.color=never -DskipTests package) >&2 || { keelson_log "build failed"; return 1; }
    keelson_build_native
    touch "$stamp"
    keelson_log "build done in $((SECONDS - start)) s"
  fi
}

# The native shim (libkeelson_dp.so) needs libdpdk; without it the build is skipped and the
# data plane reports why DPDK is unavailable.
keelson_build_native() {
  if ! pkg-config --exists libdpdk 2>/dev/null; then
    keelson_log "libdpdk not found: skipping the native DPDK shim (the socket path does not need it)"
    return 0
  fi
  (cmake -S "$KEELSON_ROOT" -B "$KEELSON_ROOT/build/native" -DCMAKE_BUILD_TYPE=Release >/dev/null \
    && cmake --build "$KEELSON_ROOT/build/native" -j 2 >/dev/null) \
    || keelson_log "native shim build failed; DPDK mode will be unavailable"
}

keelson_classpath() {
  local module=$1
  printf '%s:%s' "$KEELSON_ROOT/$module/target/classes" "$(cat "$KEELSON_ROOT/$module/target/runtime-classpath.txt")"
}
