package dev.hotpatch.core;

/**
 * What hp_boot_begin() decided at this launch. A crash-loop rollback ({@link Reason#CRASH_LOOP}) counts failed
 * launches, blocklists the release and is reported; a binary change ({@link Reason#BINARY_CHANGED}: an app-store
 * update changed the native binary and the installed release's target_binary does not admit it) is none of
 * that: the embedded bundle runs and the release may be offered again on a binary it targets.
 */
public final class BootResult {
    public enum Reason {
        /** the bundle of the last launch boots again (or the embedded one) */
        NONE(null),
        /** HP_BOOT_ROLLED_BACK: the installed release failed too many launches and was rolled back */
        CRASH_LOOP("crash_loop"),
        /** HP_BOOT_BINARY_CHANGED: the native binary changed and the release does not target it */
        BINARY_CHANGED("binary_changed");

        /** the name the agent's --json, the JS API and the docs use; null for NONE */
        public final String wire;

        Reason(String wire) {
            this.wire = wire;
        }
    }

    public static final BootResult NONE = new BootResult(Reason.NONE, null);

    public final Reason reason;
    /** the core's sentence for BINARY_CHANGED (which release, which binaries), else null */
    public final String detail;

    BootResult(Reason reason, String detail) {
        this.reason = reason;
        this.detail = detail;
    }

    /** From NativeCore.bootBegin: {HP_BOOT_* code, detail}. */
    static BootResult of(String[] a) {
        switch (Integer.parseInt(a[0])) {
            case 0:
                return NONE;
            case 1:
                return new BootResult(Reason.CRASH_LOOP, null);
            case 2:
                return new BootResult(Reason.BINARY_CHANGED, a[1]);
            default:
                throw new IllegalStateException("unknown boot result " + a[0]);
        }
    }

    public boolean rolledBack() {
        return reason == Reason.CRASH_LOOP;
    }

    public boolean binaryChanged() {
        return reason == Reason.BINARY_CHANGED;
    }
}
