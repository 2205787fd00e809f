#!/usr/bin/env python3
"""rn_android_api.py API_FILE JAVA_DIR - check that the React Native classes and
methods the package's thin Android layer (dev.hotpatch.rn) uses exist in the
installed React Native's public API dump (ReactAndroid/api/ReactAndroid.api).
That layer cannot be compiled here (no android.jar); this is the check that can
run. Prints one TAP line per check; exits non-zero when one fails."""
import re
import sys

api = open(sys.argv[1]).read()
src = "".join(open(f"{sys.argv[2]}/{n}").read() for n in ("HotPatch.java", "HotPatchModule.java", "HotPatchPackage.java"))

checks = []
# Every com.facebook.react import names a class in the API dump.
for imp in sorted(set(re.findall(r"^import (com\.facebook\.react\.[\w.]+);", src, re.M))):
    cls = imp.replace(".", "/")
    checks.append((f"class {imp} exists", re.search(rf"class {re.escape(cls)}\b", api) is not None))

# (class, member signature prefix) pairs the layer calls or overrides.
def member(cls, sig):
    body = re.search(rf"class {re.escape(cls)}\b[^\n]*\{{\n(.*?)\n\}}", api, re.S)
    return body is not None and sig in body.group(1)

for cls, sig, why in [
    ("com/facebook/react/BaseReactPackage", "fun getModule (Ljava/lang/String;Lcom/facebook/react/bridge/ReactApplicationContext;)Lcom/facebook/react/bridge/NativeModule;", "HotPatchPackage.getModule"),
    ("com/facebook/react/BaseReactPackage", "fun getReactModuleInfoProvider ()Lcom/facebook/react/module/model/ReactModuleInfoProvider;", "HotPatchPackage.getReactModuleInfoProvider"),
    ("com/facebook/react/module/model/ReactModuleInfo", "fun <init> (Ljava/lang/String;Ljava/lang/String;ZZZZ)V", "ReactModuleInfo(name, class, override, eager, cxx, turbo)"),
    ("com/facebook/react/module/model/ReactModuleInfoProvider", "fun getReactModuleInfos ()Ljava/util/Map;", "module info provider lambda"),
    ("com/facebook/react/ReactApplication", "fun getReactHost ()Lcom/facebook/react/ReactHost;", "reload through the app's ReactHost"),
    ("com/facebook/react/ReactHost", "fun reload (Ljava/lang/String;)Lcom/facebook/react/interfaces/TaskInterface;", "ReactHost.reload(reason)"),
    ("com/facebook/react/bridge/ReactContext", "fun emitDeviceEvent (Ljava/lang/String;Ljava/lang/Object;)V", "downloadProgress events"),
    ("com/facebook/react/bridge/Arguments", "fun createMap ()Lcom/facebook/react/bridge/WritableMap;", "Arguments.createMap"),
    ("com/facebook/react/bridge/Arguments", "fun createArray ()Lcom/facebook/react/bridge/WritableArray;", "Arguments.createArray"),
    ("com/facebook/react/bridge/Promise", "fun reject (Ljava/lang/String;Ljava/lang/String;)V", "Promise.reject(code, message)"),
    ("com/facebook/react/bridge/Promise", "fun resolve (Ljava/lang/Object;)V", "Promise.resolve"),
    ("com/facebook/react/bridge/WritableMap", "fun putDouble (Ljava/lang/String;D)V", "WritableMap.putDouble"),
    ("com/facebook/react/bridge/WritableArray", "fun pushString (Ljava/lang/String;)V", "WritableArray.pushString"),
    ("com/facebook/react/bridge/BaseJavaModule", "fun invalidate ()V", "HotPatchModule.invalidate"),
    ("com/facebook/react/defaults/DefaultReactHost", "fun getDefaultReactHost (Landroid/content/Context;Ljava/util/List;Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;", "docs: getDefaultReactHost(..., jsBundleFilePath)"),
]:
    checks.append((f"{why}: {cls.split('/')[-1]}.{sig.split(' (')[0].split()[-1]}", member(cls, sig)))

bad = 0
for i, (name, good) in enumerate(checks, 1):
    print(("ok" if good else "not ok") + f" {i} - ReactAndroid.api: {name}")
    bad += not good
print(f"1..{len(checks)}")
sys.exit(1 if bad else 0)
