package dev.hotpatch.core;

import java.util.ArrayList;
import java.util.List;

/**
 * Device configuration for {@link HotPatchClient}; mirrors hotpatch.h's HP_OPT_* options. On Android it is read
 * from string resources (see dev.hotpatch.rn.HotPatch), on the JVM set directly. Validation happens in the core.
 */
public final class HotPatchConfig {
    /* hp_option values (hotpatch.h); the enum starts at 1. */
    static final int DATA_DIR = 1, APP = 2, PLATFORM = 3, CHANNEL = 4, BINARY_VERSION = 5, DEVICE_ID = 6,
                     EDGE_URL = 7, MANIFEST_BASE_URL = 8, BUNDLE_BASE_URL = 9, PUBLISHER_URL = 10, MANIFEST_KEY = 11,
                     RELEASE_KEY = 12, EMBEDDED_BUNDLE_PATH = 13, ROOT = 20;

    public String dataDir, app, platform = "android", channel = "production", binaryVersion, deviceId;
    public String edgeUrl, manifestBaseUrl, bundleBaseUrl, publisherUrl, manifestKeys, releaseKeys;
    public String embeddedBundlePath;
    /**
     * The app's initial signed root document, JSON text (HP_OPT_ROOT): the core then trusts the manifest (and
     * release) keys of the newest root it walks to from storage; {@link HotPatchClient#rootStatus()} reports it.
     */
    public String root;
    /** failed launches before an automatic rollback; 0 = the core's default (3) */
    public int maxFailedLaunches;

    public HotPatchConfig copy() {
        HotPatchConfig c = new HotPatchConfig();
        c.dataDir = dataDir; c.app = app; c.platform = platform; c.channel = channel;
        c.binaryVersion = binaryVersion; c.deviceId = deviceId; c.edgeUrl = edgeUrl;
        c.manifestBaseUrl = manifestBaseUrl; c.bundleBaseUrl = bundleBaseUrl; c.publisherUrl = publisherUrl;
        c.manifestKeys = manifestKeys; c.releaseKeys = releaseKeys; c.embeddedBundlePath = embeddedBundlePath;
        c.root = root; c.maxFailedLaunches = maxFailedLaunches;
        return c;
    }

    int[] optionIds(List<String> values) {
        List<Integer> ids = new ArrayList<>();
        Object[][] all = {{DATA_DIR, dataDir}, {APP, app}, {PLATFORM, platform}, {CHANNEL, channel},
                          {BINARY_VERSION, binaryVersion}, {DEVICE_ID, deviceId}, {EDGE_URL, edgeUrl},
                          {MANIFEST_BASE_URL, manifestBaseUrl}, {BUNDLE_BASE_URL, bundleBaseUrl},
                          {PUBLISHER_URL, publisherUrl}, {MANIFEST_KEY, manifestKeys}, {RELEASE_KEY, releaseKeys},
                          {EMBEDDED_BUNDLE_PATH, embeddedBundlePath}, {ROOT, root}};
        for (Object[] o : all) {
            String v = (String) o[1];
            if (v == null || v.isEmpty()) continue;
            ids.add((Integer) o[0]);
            values.add(v);
        }
        int[] r = new int[ids.size()];
        for (int i = 0; i < r.length; i++) r[i] = ids.get(i);
        return r;
    }
}
