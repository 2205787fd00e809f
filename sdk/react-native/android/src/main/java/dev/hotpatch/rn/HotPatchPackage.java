package dev.hotpatch.rn;

import com.facebook.react.BaseReactPackage;
import com.facebook.react.bridge.NativeModule;
import com.facebook.react.bridge.ReactApplicationContext;
import com.facebook.react.module.model.ReactModuleInfo;
import com.facebook.react.module.model.ReactModuleInfoProvider;
import java.util.HashMap;
import java.util.Map;

/** Registers the HotPatch TurboModule (autolinked through react-native.config.js). Not compiled here. */
public final class HotPatchPackage extends BaseReactPackage {
    @Override
    public NativeModule getModule(String name, ReactApplicationContext ctx) {
        return NativeHotPatchSpec.NAME.equals(name) ? new HotPatchModule(ctx) : null;
    }

    @Override
    public ReactModuleInfoProvider getReactModuleInfoProvider() {
        return () -> {
            Map<String, ReactModuleInfo> m = new HashMap<>();
            m.put(NativeHotPatchSpec.NAME,
                  new ReactModuleInfo(NativeHotPatchSpec.NAME, HotPatchModule.class.getName(),
                                      false /* canOverrideExistingModule */, false /* needsEagerInit */,
                                      false /* isCxxModule */, true /* isTurboModule */));
            return m;
        };
    }
}
