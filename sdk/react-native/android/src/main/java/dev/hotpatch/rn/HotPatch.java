package dev.hotpatch.rn;

import android.app.Application;
import android.content.Context;
import android.content.SharedPreferences;
import android.content.pm.PackageInfo;
import android.os.Handler;
import android.os.Looper;
import android.util.Log;
import com.facebook.react.ReactApplication;
import com.facebook.react.ReactHost;
import dev.hotpatch.core.BootResult;
import dev.hotpatch.core.HotPatchClient;
import dev.hotpatch.core.HotPatchConfig;
import dev.hotpatch.core.HotPatchException;
import dev.hotpatch.core.ReleaseState;
import dev.hotpatch.core.UrlConnectionTransport;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.UUID;

/**
 * The native boot path. Call {@link #getJSBundleFile(Context)} where the app builds its ReactHost
 * (getDefaultReactHost(..., jsBundleFilePath = HotPatch.getJSBundleFile(this))) or from
 * ReactNativeHost.getJSBundleFile(): it runs hp_boot_begin (launch counter written and fsynced, crash-loop
 * rollback) BEFORE the bundle loads, and returns the installed bundle, or null for the embedded one.
 *
 * Configuration comes from string resources (res/values/hotpatch.xml): hotpatch_app, hotpatch_edge_url or
 * hotpatch_manifest_base_url, hotpatch_bundle_base_url, hotpatch_publisher_url, hotpatch_channel,
 * hotpatch_manifest_keys, hotpatch_release_keys, hotpatch_root_asset (an asset holding the app's signed root
 * document), hotpatch_max_failed_launches, hotpatch_ready_timeout_ms. JS may override the channel (persisted in
 * SharedPreferences "hotpatch").
 *
 * Not compiled in the HotPatch repository (no android.jar there): see docs/react-native.md.
 */
public final class HotPatch {
    private static final String TAG = "HotPatch";
    private static HotPatchClient client;
    private static boolean rolledBack;
    private static BootResult bootResult = BootResult.NONE;
    private static String runningId;
    private static String bundleFile;
    private static Handler watchdog;
    private static Runnable watchdogTask;

    private HotPatch() {}

    static String res(Context ctx, String name, String dflt) {
        int id = ctx.getResources().getIdentifier(name, "string", ctx.getPackageName());
        return id == 0 ? dflt : ctx.getString(id);
    }

    static HotPatchConfig config(Context ctx) throws Exception {
        HotPatchConfig c = new HotPatchConfig();
        c.dataDir = new File(ctx.getFilesDir(), "hotpatch").getAbsolutePath();
        c.app = res(ctx, "hotpatch_app", null);
        c.platform = "android";
        SharedPreferences p = ctx.getSharedPreferences("hotpatch", Context.MODE_PRIVATE);
        c.channel = p.getString("channel", res(ctx, "hotpatch_channel", "production"));
        PackageInfo pi = ctx.getPackageManager().getPackageInfo(ctx.getPackageName(), 0);
        c.binaryVersion = pi.versionName;
        c.deviceId = deviceId(ctx);
        c.edgeUrl = res(ctx, "hotpatch_edge_url", null);
        c.manifestBaseUrl = res(ctx, "hotpatch_manifest_base_url", null);
        c.bundleBaseUrl = res(ctx, "hotpatch_bundle_base_url", null);
        c.publisherUrl = res(ctx, "hotpatch_publisher_url", null);
        c.manifestKeys = res(ctx, "hotpatch_manifest_keys", null);
        c.releaseKeys = res(ctx, "hotpatch_release_keys", null);
        c.root = asset(ctx, res(ctx, "hotpatch_root_asset", null));
        c.maxFailedLaunches = Integer.parseInt(res(ctx, "hotpatch_max_failed_launches", "0"));
        return c;
    }

    /** The text of an asset (the root document), or null when none is named; a named but missing one throws. */
    static String asset(Context ctx, String name) throws IOException {
        if (name == null || name.isEmpty()) return null;
        try (InputStream in = ctx.getAssets().open(name)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) > 0;) out.write(buf, 0, n);
            return out.toString("UTF-8");
        }
    }

    /** A random id made once per install, kept beside (not inside) the SDK's data dir. */
    static String deviceId(Context ctx) throws Exception {
        File f = new File(ctx.getFilesDir(), "hotpatch-device-id");
        if (f.isFile()) return new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8).trim();
        String id = UUID.randomUUID().toString();
        try (FileOutputStream o = new FileOutputStream(f)) {
            o.write(id.getBytes(StandardCharsets.UTF_8));
            o.getFD().sync();
        }
        return id;
    }

    /**
     * Runs the boot protocol once per process and returns the bundle file to load, or null for the embedded
     * bundle (also on any error: a broken update must never keep the app from starting).
     */
    public static synchronized String getJSBundleFile(Context ctx) {
        if (client != null) return bundleFile;
        try {
            client = HotPatchClient.open(config(ctx.getApplicationContext()), new UrlConnectionTransport());
            boot(ctx.getApplicationContext());
        } catch (Exception e) {
            Log.e(TAG, "boot failed, running the embedded bundle: " + e.getMessage());
            bundleFile = null;
        }
        return bundleFile;
    }

    private static void boot(Context app) throws HotPatchException {
        rolledBack = client.bootBegin() || rolledBack;
        BootResult b = client.lastBoot();
        if (b.reason != BootResult.Reason.NONE) bootResult = b; // what this process's boots decided, the last one
        if (b.binaryChanged()) Log.i(TAG, "app binary changed: " + b.detail); // not a failed launch
        ReleaseState s = client.state();
        runningId = s.id;
        File f = s.bundlePath == null ? null : new File(s.bundlePath, "index.android.bundle");
        bundleFile = f != null && f.isFile() ? f.getAbsolutePath() : null;
        if (rolledBack) Log.w(TAG, "rolled back to " + (s.id == null ? "the embedded bundle" : s.id));
        if (s.id != null && !s.confirmed) startWatchdog(app);
    }

    /**
     * App-ready watchdog: a launch that has not called notifyAppReady() within hotpatch_ready_timeout_ms (default
     * 10 s) counts as failed even if it did not crash: the boot protocol runs again (rolling back once the limit is
     * reached) and the JS runtime reloads on what it picked.
     */
    private static void startWatchdog(Context app) {
        long ms = Long.parseLong(res(app, "hotpatch_ready_timeout_ms", "10000"));
        if (ms <= 0) return;
        watchdog = new Handler(Looper.getMainLooper());
        watchdogTask = () -> {
            synchronized (HotPatch.class) {
                try {
                    Log.w(TAG, "launch of " + runningId + " not ready after " + ms + " ms: counted as failed");
                    boot(app);
                } catch (HotPatchException e) {
                    Log.e(TAG, "watchdog: " + e.getMessage());
                    return;
                }
            }
            reload(app, "hotpatch: app-ready watchdog");
        };
        watchdog.postDelayed(watchdogTask, ms);
    }

    static synchronized void appReady() throws HotPatchException {
        if (watchdog != null) watchdog.removeCallbacks(watchdogTask);
        client.bootOk();
    }

    /** Restart JS on the installed bundle: a new launch for the boot protocol, then ReactHost.reload. */
    static void reload(Context app, String reason) {
        synchronized (HotPatch.class) {
            try {
                boot(app);
            } catch (HotPatchException e) {
                Log.e(TAG, "reload: " + e.getMessage());
            }
        }
        if (app instanceof Application && app instanceof ReactApplication) {
            ReactHost host = ((ReactApplication) app).getReactHost();
            if (host != null) host.reload(reason);
        }
    }

    static synchronized HotPatchClient client() throws HotPatchException {
        if (client == null) throw new HotPatchException("HP_E_STATE", "HotPatch.getJSBundleFile() was not called");
        return client;
    }

    static synchronized boolean rolledBack() {
        return rolledBack;
    }

    /** Why a boot of this process left the installed release (crash loop, binary change), or NONE. */
    static synchronized BootResult bootResult() {
        return bootResult;
    }

    static synchronized String runningId() {
        return runningId;
    }

    /** setChannel: persisted; the next client (next launch, or now) uses it. */
    static synchronized void setChannel(Context app, String channel) throws Exception {
        app.getSharedPreferences("hotpatch", Context.MODE_PRIVATE).edit().putString("channel", channel).commit();
        HotPatchClient next = HotPatchClient.open(config(app), new UrlConnectionTransport());
        client.close();
        client = next;
    }

    static synchronized String channel(Context app) throws Exception {
        return config(app).channel;
    }
}
