# jvm_core.sh - the Android core package (dev.hotpatch.core: JNI bridge over
# libhotpatch-core, HttpURLConnection transport, update flow) on this machine's
# JVM with JUnit 4, against the host build of the same C sources
# (build/lib/libhotpatch-core.a: no libcurl) and real servers (servers.bash:
# hotpatch-edge, a CDN on loopback, `hotpatch release` to file:// storage).
# The RN layer (dev.hotpatch.rn) needs android.jar and is not compiled here.
. "$HP_SRC_DIR/tests/lib/tap.sh"
. "$HP_SRC_DIR/tests/integration/rn/servers.bash"
set -u

BIN=${HP_BIN:-$HP_SRC_DIR/build/bin}
LIB=$BIN/../lib
AND=$HP_SRC_DIR/sdk/react-native/android
JUNIT=/usr/share/java/junit4.jar:/usr/share/java/hamcrest-core.jar
if ! command -v javac >/dev/null || [ ! -f /usr/share/java/junit4.jar ]; then
    echo "not ok 1 - needs openjdk-17-jdk-headless and junit4 (tests/harness/deps.sh)"; echo "1..1"; exit 1
fi
JDK=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
hp_tempdir hp-jvm || exit 1 # removed on exit, after the servers rn_servers_up starts

ok "JNI bridge links against libhotpatch-core (no libcurl)" \
    cc -std=c11 -O2 -Wall -Wextra -Wno-unused-parameter -Werror -fPIC -shared -fvisibility=hidden \
    -I"$HP_SRC_DIR/common/include" -I"$HP_SRC_DIR/sdk/include" -I"$JDK/include" -I"$JDK/include/linux" \
    -o "$T/libhotpatch.so" "$AND/src/main/cpp/hp_jni.c" "$LIB/libhotpatch-core.a" \
    -ljansson -lsodium -lzip -lzstd -lpthread -lm -Wl,--no-undefined
nok "the JNI library does not need libcurl" bash -c "ldd '$T/libhotpatch.so' | grep -q libcurl"
mkdir -p "$T/classes"
ok "javac 17: the platform-free core package and its tests compile" \
    javac -Xlint:all -Werror -d "$T/classes" -cp "$JUNIT" $(find "$AND/src/main/java/dev/hotpatch/core" "$AND/src/test/java" -name '*.java')
ok "edge, CDN and report receiver up" rn_servers_up "$T"

java -Dhotpatch.lib="$T/libhotpatch.so" -Dhp.bin="$BIN" -Dhp.tmp="$T" -Dhp.storage="$RN_STORAGE" \
    -Dhp.edge="$RN_EDGE" -Dhp.cdn="$RN_CDN" -Dhp.mpub="$RN_MPUB" -Dhp.rpub="$RN_RPUB" \
    -Dhp.signingKey="$RN_SIGNING_KEY" -Dhp.manifestKey="$RN_MANIFEST_KEY" \
    -cp "$JUNIT:$T/classes" org.junit.runner.JUnitCore dev.hotpatch.core.HotPatchClientTest >"$T/junit.log" 2>&1
rc=$?
# One TAP line per JUnit test: JUnitCore prints "N) name(class)" for each failure.
for m in $(grep -o 'public void [a-z]_[A-Za-z]*' "$AND/src/test/java/dev/hotpatch/core/HotPatchClientTest.java" | awk '{print $3}'); do
    if grep -q "^[0-9]*) $m(" "$T/junit.log"; then
        ok "junit: $m" false
        grep -A12 "^[0-9]*) $m(" "$T/junit.log" | sed 's/^/#   /'
    elif [ "$rc" -eq 0 ] || grep -q "^Tests run:" "$T/junit.log"; then
        ok "junit: $m" true
    else
        ok "junit: $m (JUnit did not run)" false
    fi
done
is "$rc" 0 "JUnitCore exit status"
[ "$rc" -ne 0 ] && tail -n 30 "$T/junit.log" | sed 's/^/#   /'
done_testing
