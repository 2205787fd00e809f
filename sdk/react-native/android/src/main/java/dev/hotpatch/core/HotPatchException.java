package dev.hotpatch.core;

/**
 * A failure of the C core: {@link #code} is the hp_status name (e.g. "HP_E_VERIFY"), the message is the
 * core's one-line detail (hp_errmsg), e.g. "bundle of 'r2' does not match its signed SHA-256".
 */
public final class HotPatchException extends Exception {
    private static final long serialVersionUID = 1L;
    public final String code;

    public HotPatchException(String code, String message) {
        super(message);
        this.code = code;
    }
}
