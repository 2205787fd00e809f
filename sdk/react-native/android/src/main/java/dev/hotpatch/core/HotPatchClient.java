package dev.hotpatch.core;

import java.util.ArrayList;
import java.util.List;

/**
 * The platform-free update client: libhotpatch's C core behind JNI, with the platform's HTTP
 * ({@link UrlConnectionTransport} by default). One instance per launch and data directory; not thread-safe except
 * {@link #cancel()}.
 *
 * <pre>
 *   HotPatchClient c = HotPatchClient.open(cfg, new UrlConnectionTransport());
 *   boolean rolledBack = c.bootBegin();      // before the bundle runs; c.lastBoot() says why
 *   String dir = c.state().bundlePath;       // null: run the embedded bundle
 *   ... first screen ...  c.bootOk();
 *   Offer o = c.check(); if (o != null) { c.download(o, l); c.install(o); }
 * </pre>
 */
public final class HotPatchClient implements AutoCloseable {
    private long h;
    private final HttpTransport transport;
    private BootResult lastBoot = BootResult.NONE;

    private HotPatchClient(long h, HttpTransport t) {
        this.h = h;
        this.transport = t;
    }

    /** hp_client_new + options + hp_set_transport + hp_open. */
    public static HotPatchClient open(HotPatchConfig cfg, HttpTransport t) throws HotPatchException {
        NativeCore.load();
        List<String> values = new ArrayList<>();
        int[] ids = cfg.optionIds(values);
        long h = NativeCore.open(ids, values.toArray(new String[0]), cfg.maxFailedLaunches, t);
        return new HotPatchClient(h, t);
    }

    private long handle() throws HotPatchException {
        if (h == 0) throw new HotPatchException("HP_E_STATE", "client is closed");
        return h;
    }

    /**
     * The boot protocol, once per launch before the bundle runs; true when it rolled a crash-looping release back.
     * A binary change (the installed release does not target the new native binary) is not a rollback: it returns
     * false and {@link #lastBoot()} says {@link BootResult.Reason#BINARY_CHANGED}.
     */
    public boolean bootBegin() throws HotPatchException {
        lastBoot = BootResult.of(NativeCore.bootBegin(handle()));
        return lastBoot.rolledBack();
    }

    /** What the last {@link #bootBegin()} decided (NONE before the first). */
    public BootResult lastBoot() {
        return lastBoot;
    }

    /** "App is ready" for this launch. */
    public void bootOk() throws HotPatchException {
        NativeCore.bootOk(handle());
    }

    public ReleaseState state() throws HotPatchException {
        return new ReleaseState(NativeCore.state(handle()));
    }

    /** The root of trust manifests are verified with, or null when {@link HotPatchConfig#root} is not set. */
    public RootStatus rootStatus() throws HotPatchException {
        long[] a = NativeCore.rootStatus(handle());
        return a == null ? null : new RootStatus(a[0], a[1]);
    }

    /** null when nothing applies. */
    public Offer check() throws HotPatchException {
        String[] a = NativeCore.check(handle());
        return a == null ? null : new Offer(a);
    }

    public void download(Offer o, NativeCore.ProgressListener l) throws HotPatchException {
        NativeCore.download(handle(), o.id, l);
    }

    public void install(Offer o) throws HotPatchException {
        NativeCore.install(handle(), o.id);
    }

    /**
     * check + download + install. Returns the offer installed, or null when up to date. The caller decides when it
     * runs (next launch, now, on resume): {@link Offer#mandatory} is the core's verdict.
     */
    public Offer update(NativeCore.ProgressListener l) throws HotPatchException {
        Offer o = check();
        if (o == null) return null;
        download(o, l);
        install(o);
        return o;
    }

    public void clearUpdates() throws HotPatchException {
        NativeCore.clearUpdates(handle());
    }

    public void flushReports() throws HotPatchException {
        NativeCore.flushReports(handle());
    }

    /** Stop a download running on another thread (HP_E_CANCELLED there); thread-safe. */
    public void cancel() {
        long x = h;
        if (x != 0) NativeCore.cancel(x);
    }

    public HttpTransport transport() {
        return transport;
    }

    @Override
    public void close() {
        if (h != 0) {
            NativeCore.close(h);
            h = 0;
        }
    }
}
