package dev.hotpatch.core;

/** The root of trust the core verifies manifests with (hp_root_version, hp_root_expires_at). */
public final class RootStatus {
    /** the newest root version this device accepted: the configured one, or one walked to from storage */
    public final long version;
    /** that root's expires_at, unix seconds; checks fail (HP_E_EXPIRED) after it unless a successor is published */
    public final long expiresAt;

    RootStatus(long version, long expiresAt) {
        this.version = version;
        this.expiresAt = expiresAt;
    }
}
