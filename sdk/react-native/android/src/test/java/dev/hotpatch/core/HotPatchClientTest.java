package dev.hotpatch.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runners.MethodSorters;

/**
 * The Android core package on this JVM: JNI over libhotpatch-core (host build of the same C sources), the
 * HttpURLConnection transport, against a real hotpatch-edge synced from file:// storage that `hotpatch release`
 * wrote and a static CDN on loopback (tests/integration/rn/jvm_core.sh starts them and passes -Dhp.*).
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class HotPatchClientTest {
    static final String BIN = System.getProperty("hp.bin"), TMP = System.getProperty("hp.tmp");
    static final String STORAGE = System.getProperty("hp.storage"), EDGE = System.getProperty("hp.edge");
    static final String CDN = System.getProperty("hp.cdn");
    static long seq; // sequences are clock-floored (ms since the epoch): beyond int

    static HotPatchConfig cfg(String device) {
        new File(TMP, "jvm-devices").mkdirs(); /* the core creates the data dir itself, not its parents */
        HotPatchConfig c = new HotPatchConfig();
        c.dataDir = TMP + "/jvm-devices/" + device;
        c.app = "demo";
        c.platform = "android";
        c.channel = "production";
        c.binaryVersion = "1.2.0";
        c.deviceId = device;
        c.edgeUrl = EDGE;
        c.bundleBaseUrl = CDN;
        c.manifestKeys = System.getProperty("hp.mpub");
        c.releaseKeys = System.getProperty("hp.rpub");
        c.maxFailedLaunches = 2;
        return c;
    }

    static String run(String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("HOTPATCH_SIGNING_KEY", System.getProperty("hp.signingKey"));
        pb.environment().put("HOTPATCH_MANIFEST_KEY", System.getProperty("hp.manifestKey"));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IOException(String.join(" ", cmd) + ": " + out);
        return out;
    }

    static String field(String json, String key) {
        int i = json.indexOf("\"" + key + "\":");
        int s = json.indexOf('"', i + key.length() + 3) + 1;
        return json.substring(s, json.indexOf('"', s));
    }

    /** `hotpatch release` into file:// storage; waits until the edge serves the new manifest. Returns {id, url}. */
    static String[] release(String version, int kib, String... extra) throws Exception {
        return releaseFor(">=1.0.0 <2.0.0", version, kib, extra);
    }

    /** release() for another --target-binary range. */
    static String[] releaseFor(String target, String version, int kib, String... extra) throws Exception {
        Path dir = Paths.get(TMP, "jvm-bundles", version);
        Files.createDirectories(dir);
        byte[] noise = new byte[kib * 1024]; /* incompressible: the zip is as large as asked */
        new java.util.Random(version.hashCode()).nextBytes(noise);
        String js = "/* " + version + " */ var x = '" + java.util.Base64.getEncoder().encodeToString(noise) + "';";
        Files.write(dir.resolve("index.android.bundle"), js.getBytes(StandardCharsets.UTF_8));
        List<String> cmd = new ArrayList<>(List.of(BIN + "/hotpatch", "--json", "release", "--app", "demo",
                                                   "--platform", "android", "--version", version, "--target-binary",
                                                   target, "--bundle-dir", dir.toString(), "--storage",
                                                   "file://" + STORAGE));
        cmd.addAll(List.of(extra));
        String out = run(cmd.toArray(new String[0]));
        Matcher sm = Pattern.compile("\"sequence\": ?(\\d+)").matcher(out);
        seq = sm.find() ? Long.parseLong(sm.group(1)) : seq + 1;
        Pattern served = Pattern.compile("\\\\\"sequence\\\\\": ?(\\d+)");
        for (int i = 0;; i++) {
            Matcher m = served.matcher(run("curl", "-s", EDGE + "/v1/manifests/demo/android/production.json"));
            if (m.find() && Long.parseLong(m.group(1)) >= seq) break;
            if (i == 100) throw new IOException("edge did not reach sequence " + seq);
            Thread.sleep(200);
        }
        int r = out.indexOf("\"release\"");
        return new String[] {field(out.substring(r), "id"), field(out.substring(r), "bundle_url")};
    }

    static void ctl(String json) throws IOException {
        Path p = Paths.get(STORAGE, ".ctl");
        if (json == null) Files.deleteIfExists(p);
        else Files.write(p, json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    public void a_updateThroughHttpUrlConnection() throws Exception {
        String[] r1 = release("1.0.0", 300);
        UrlConnectionTransport t = new UrlConnectionTransport();
        try (HotPatchClient c = HotPatchClient.open(cfg("j1"), t)) {
            assertFalse(c.bootBegin());
            assertTrue(c.state().embedded());
            AtomicLong last = new AtomicLong(-1);
            List<Long> seen = new ArrayList<>();
            Offer o = c.update((done, total) -> {
                seen.add(done);
                last.set(done);
                return false;
            });
            assertNotNull(o);
            assertEquals(r1[0], o.id);
            assertEquals(o.size, last.get());
            assertTrue("progress events: " + seen.size(), seen.size() >= 2);
            assertEquals(r1[0], c.state().id);
        }
        try (HotPatchClient c = HotPatchClient.open(cfg("j1"), new UrlConnectionTransport())) {
            c.bootBegin();
            ReleaseState s = c.state();
            assertEquals(r1[0], s.id);
            assertTrue(s.bundlePath.endsWith("/current"));
            assertTrue(new File(s.bundlePath, "index.android.bundle").isFile());
            assertEquals(1, s.launches);
            c.bootOk();
            assertTrue(c.state().confirmed);
            assertNull("up to date", c.check());
        }
    }

    @Test
    public void b_cutTransferResumesWithRange() throws Exception {
        String[] r2 = release("1.0.1", 600);
        UrlConnectionTransport t = new UrlConnectionTransport();
        try (HotPatchClient c = HotPatchClient.open(cfg("j2"), t)) {
            c.bootBegin();
            Offer o = c.check();
            assertEquals(r2[0], o.id);
            ctl("{\"cut_after\": 200000}");
            try {
                c.download(o, null);
                fail("a cut transfer must fail");
            } catch (HotPatchException e) {
                assertEquals("HP_E_NET", e.code);
                assertTrue(e.getMessage(), e.getMessage().contains("cannot fetch"));
            } finally {
                ctl(null);
            }
            c.download(o, null);
            assertEquals("resumed from the kept prefix", 200000, t.lastRangeStart);
            c.install(o);
            assertEquals(r2[0], c.state().id);
        }
    }

    @Test
    public void c_crashLoopRollsBack() throws Exception {
        try (HotPatchClient c = HotPatchClient.open(cfg("j3"), new UrlConnectionTransport())) {
            c.bootBegin();
            assertNotNull(c.update(null));
        }
        String installed;
        for (int i = 0; i < 2; i++) {
            try (HotPatchClient c = HotPatchClient.open(cfg("j3"), new UrlConnectionTransport())) {
                assertFalse("launch " + i + " runs the new release", c.bootBegin());
            }
        }
        try (HotPatchClient c = HotPatchClient.open(cfg("j3"), new UrlConnectionTransport())) {
            installed = c.state().id;
            assertTrue("third unconfirmed launch rolls back", c.bootBegin());
            ReleaseState s = c.state();
            assertTrue(s.embedded());
            assertTrue(s.blocklist.contains(installed));
            assertTrue(s.reportsQueued > 0);
        }
    }

    @Test
    public void d_tamperedBundleRefused() throws Exception {
        String[] r = release("1.0.2", 100);
        Path zip = Paths.get(STORAGE, r[1]);
        byte[] b = Files.readAllBytes(zip);
        b[b.length / 2] ^= 0x5a;
        Files.write(zip, b);
        try (HotPatchClient c = HotPatchClient.open(cfg("j4"), new UrlConnectionTransport())) {
            c.bootBegin();
            c.update(null);
            fail("tampered bundle installed");
        } catch (HotPatchException e) {
            assertEquals("HP_E_VERIFY", e.code);
            assertTrue(e.getMessage(), e.getMessage().contains("does not match its signed SHA-256"));
        }
    }

    @Test
    public void e_cancelFromAnotherThread() throws Exception {
        release("1.0.3", 2000);
        UrlConnectionTransport t = new UrlConnectionTransport();
        ctl("{\"throttle_ms\": 50}");
        try (HotPatchClient c = HotPatchClient.open(cfg("j5"), t)) {
            c.bootBegin();
            Offer o = c.check();
            Thread th = new Thread(() -> {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    return;
                }
                c.cancel();
            });
            th.start();
            try {
                c.download(o, null);
                fail("download not cancelled");
            } catch (HotPatchException e) {
                assertEquals("HP_E_CANCELLED", e.code);
            }
            th.join();
            assertEquals(1, t.cancels);
        } finally {
            ctl(null);
        }
    }

    @Test
    public void f_badInputGetsTheCoreMessage() throws Exception {
        HotPatchConfig c = cfg("j6");
        c.binaryVersion = "not-a-version";
        try {
            HotPatchClient.open(c, new UrlConnectionTransport()).close();
            fail("bad config accepted");
        } catch (HotPatchException e) {
            assertEquals("HP_E_INVAL", e.code);
            assertTrue(e.getMessage(), e.getMessage().contains("not-a-version"));
        }
        HotPatchConfig d = cfg("j7");
        d.edgeUrl = "http://127.0.0.1:1";
        try (HotPatchClient x = HotPatchClient.open(d, new UrlConnectionTransport())) {
            x.check();
            fail("dead edge");
        } catch (HotPatchException e) {
            assertEquals("HP_E_NET", e.code);
            assertTrue(e.getMessage(), e.getMessage().contains("Connection refused"));
        }
    }

    static HotPatchConfig cfg(String device, String binary) {
        HotPatchConfig c = cfg(device);
        c.binaryVersion = binary;
        return c;
    }

    @Test
    public void g_binaryStillAdmittedKeepsRunningRelease() throws Exception {
        String[] r = releaseFor(">=1.0.0", "1.0.4", 50);
        try (HotPatchClient c = HotPatchClient.open(cfg("j8", "1.0.0"), new UrlConnectionTransport())) {
            c.bootBegin();
            assertEquals(r[0], c.update(null).id);
        }
        try (HotPatchClient c = HotPatchClient.open(cfg("j8", "1.0.0"), new UrlConnectionTransport())) {
            c.bootBegin();
            c.bootOk();
        }
        // an app-store update: the binary is now 2.0.0, which ">=1.0.0" admits
        try (HotPatchClient c = HotPatchClient.open(cfg("j8", "2.0.0"), new UrlConnectionTransport())) {
            assertFalse(c.bootBegin());
            assertEquals(BootResult.Reason.NONE, c.lastBoot().reason);
            assertNull(c.lastBoot().detail);
            ReleaseState s = c.state();
            assertEquals("keeps running the release", r[0], s.id);
            assertTrue(s.confirmed);
            assertTrue(new File(s.bundlePath, "index.android.bundle").isFile());
        }
    }

    @Test
    public void h_binaryChangedBootsEmbeddedNotAFailedLaunch() throws Exception {
        String[] r = release("1.0.5", 50); // targets ">=1.0.0 <2.0.0"
        try (HotPatchClient c = HotPatchClient.open(cfg("j9", "1.0.0"), new UrlConnectionTransport())) {
            c.bootBegin();
            assertEquals(r[0], c.update(null).id);
        }
        int queued;
        try (HotPatchClient c = HotPatchClient.open(cfg("j9", "1.0.0"), new UrlConnectionTransport())) {
            assertFalse(c.bootBegin());
            assertEquals(r[0], c.state().id);
            assertEquals(1, c.state().launches);
            queued = c.state().reportsQueued;
        }
        try (HotPatchClient c = HotPatchClient.open(cfg("j9", "2.0.0"), new UrlConnectionTransport())) {
            assertFalse("a binary change is not a crash rollback", c.bootBegin());
            BootResult b = c.lastBoot();
            assertEquals(BootResult.Reason.BINARY_CHANGED, b.reason);
            assertTrue(b.binaryChanged());
            assertFalse(b.rolledBack());
            assertEquals("binary_changed", b.reason.wire);
            assertTrue(b.detail, b.detail.contains(r[0]) && b.detail.contains("not 2.0.0 (was 1.0.0)"));
            ReleaseState s = c.state();
            assertTrue("embedded bundle", s.embedded());
            assertNull("nothing installed to run (no embedded path configured)", s.bundlePath);
            assertFalse("not blocklisted", s.blocklist.contains(r[0]));
            assertEquals("not counted as a failed launch", 0, s.launches);
            assertEquals("no rollback report queued", queued, s.reportsQueued);
        }
        try (HotPatchClient c = HotPatchClient.open(cfg("j9", "2.0.0"), new UrlConnectionTransport())) {
            assertFalse(c.bootBegin());
            assertEquals("told once", BootResult.Reason.NONE, c.lastBoot().reason);
            assertTrue(c.state().embedded());
        }
    }

    /** A number in a root document's signed payload (a JSON string inside the envelope: its quotes escaped). */
    static long rootField(Path root, String key) throws IOException {
        String doc = new String(Files.readAllBytes(root), StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("\\\\\"" + key + "\\\\\":(\\d+)").matcher(doc);
        assertTrue(key + " in " + root, m.find());
        return Long.parseLong(m.group(1));
    }

    @Test
    public void i_rootStatusReportsTheTrustedRoot() throws Exception {
        try (HotPatchClient c = HotPatchClient.open(cfg("j10"), new UrlConnectionTransport())) {
            assertNull("fixed manifest keys: no root of trust", c.rootStatus());
        }
        // the app ships only its signed root (version 1, trusting the edge's manifest key), no manifest key
        Path dir = Paths.get(TMP, "jvm-roots");
        Files.createDirectories(dir);
        String key = dir.resolve("root-a.key").toString();
        run(BIN + "/hotpatch", "keygen", "--out", key);
        run(BIN + "/hotpatch", "root", "init", "--app", "demo", "--manifest-keys", System.getProperty("hp.mpub"),
            "--sign", key, "--out", dir.resolve("1.json").toString());
        run(BIN + "/hotpatch", "root", "publish", dir.resolve("1.json").toString(), "--storage", "file://" + STORAGE);
        HotPatchConfig rc = cfg("j11");
        rc.manifestKeys = null;
        rc.root = new String(Files.readAllBytes(dir.resolve("1.json")), StandardCharsets.UTF_8);
        long exp1 = rootField(dir.resolve("1.json"), "expires_at");
        try (HotPatchClient c = HotPatchClient.open(rc, new UrlConnectionTransport())) {
            RootStatus r = c.rootStatus();
            assertNotNull(r);
            assertEquals(1, r.version);
            assertEquals(exp1, r.expiresAt);
            c.check(); // verified with the root's manifest key
            assertEquals(1, c.rootStatus().version);

            // root 2, with another expiry, published to storage: the next check walks to it
            run(BIN + "/hotpatch", "root", "rotate", "--from", dir.resolve("1.json").toString(), "--expires", "30d",
                "--sign", key, "--out", dir.resolve("2.json").toString());
            run(BIN + "/hotpatch", "root", "publish", dir.resolve("2.json").toString(), "--storage",
                "file://" + STORAGE);
            long exp2 = rootField(dir.resolve("2.json"), "expires_at");
            assertTrue(exp2 < exp1);
            assertEquals("not before a check", 1, c.rootStatus().version);
            c.check();
            assertEquals(2, c.rootStatus().version);
            assertEquals(exp2, c.rootStatus().expiresAt);
        }
        try (HotPatchClient c = HotPatchClient.open(rc, new UrlConnectionTransport())) {
            assertEquals("the cached root, newer than the embedded one", 2, c.rootStatus().version);
        }
        HotPatchConfig bad = rc.copy();
        bad.dataDir = TMP + "/jvm-devices/j12";
        bad.root = rc.root.replace("\\\"version\\\":1", "\\\"version\\\":7");
        assertFalse(bad.root.equals(rc.root));
        try {
            HotPatchClient.open(bad, new UrlConnectionTransport()).close();
            fail("damaged root accepted");
        } catch (HotPatchException e) {
            assertEquals("HP_E_INVAL", e.code);
            assertTrue(e.getMessage(), e.getMessage().contains("root"));
        }
    }
}
