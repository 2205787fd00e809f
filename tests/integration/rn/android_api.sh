# android_api.sh - the thin React Native layer of the Android package (dev.hotpatch.rn)
# needs android.jar and cannot be compiled here; check every React Native class and
# method it uses against the installed React Native's public API dump instead
# (node_modules/react-native/ReactAndroid/api/ReactAndroid.api of the fixture app).
. "$HP_SRC_DIR/tests/harness/rn_fixture.sh"
APP=$(rn_fixture_dir) || { echo "not ok 1 - fixture app: see above"; echo "1..1"; exit 1; }
exec python3 "$HP_SRC_DIR/tests/integration/rn/rn_android_api.py" \
    "$APP/node_modules/react-native/ReactAndroid/api/ReactAndroid.api" \
    "$HP_SRC_DIR/sdk/react-native/android/src/main/java/dev/hotpatch/rn"
