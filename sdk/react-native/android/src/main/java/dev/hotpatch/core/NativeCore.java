package dev.hotpatch.core;

/**
 * JNI entry points of libhotpatch-core (android/src/main/cpp/hp_jni.c). Use {@link HotPatchClient}; this class is
 * the thin, handle-based layer under it, plus the sink calls an {@link HttpTransport} makes.
 */
public final class NativeCore {
    private NativeCore() {}

    /** Loads the native library once: "hotpatch" from the app, or a file named by -Dhotpatch.lib (JVM tests). */
    public static synchronized void load() {
        if (loaded) return;
        String path = System.getProperty("hotpatch.lib");
        if (path != null) System.load(path);
        else System.loadLibrary("hotpatch");
        loaded = true;
    }

    private static boolean loaded;

    static native long open(int[] opts, String[] values, int maxFailedLaunches, HttpTransport transport)
        throws HotPatchException;
    static native void close(long h);
    /** hp_boot_begin: {HP_BOOT_* code as a decimal string, hp_errmsg() for HP_BOOT_BINARY_CHANGED or null}. */
    static native String[] bootBegin(long h) throws HotPatchException;
    static native void bootOk(long h) throws HotPatchException;
    static native void clearUpdates(long h) throws HotPatchException;
    static native void cancel(long h);
    static native String[] state(long h);
    /** {hp_root_version, hp_root_expires_at}, or null when no root of trust is configured. */
    static native long[] rootStatus(long h);
    static native String[] check(long h) throws HotPatchException;
    static native void download(long h, String releaseId, ProgressListener l) throws HotPatchException;
    static native void install(long h, String releaseId) throws HotPatchException;
    static native void flushReports(long h) throws HotPatchException;
    public static native String version();

    /** Report the response status; true: stop. */
    public static native boolean sinkStatus(long sink, int status);
    /** Report one response header; true: stop. */
    public static native boolean sinkHeader(long sink, String name, String value);
    /** Deliver body bytes; true: stop now. */
    public static native boolean sinkBody(long sink, byte[] buf, int off, int len);

    /** Download progress; return true to cancel (HP_E_CANCELLED). */
    public interface ProgressListener {
        boolean onProgress(long received, long total);
    }
}
