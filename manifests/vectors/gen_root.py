#!/usr/bin/env python3
"""gen_root.py - golden vectors for the root of trust (SPEC.md section 17).

Independent of the C code: canonical JSON and Ed25519 come from gen.py's
stdlib implementation. Deterministic: re-running must leave `git diff` empty.

    python3 manifests/vectors/gen_root.py [OUTDIR] && git diff --exit-code manifests/vectors/roots

Writes roots/keys/ (TEST-ONLY root keys), roots/chain/<N>.json (a valid chain
for app "demo": 1 initial, 2 adds the "other" manifest key, 3 revokes the
"manifest" key and rotates a root key), roots/rejected/*.json with
roots/cases.json (what must be refused, as the successor of which trusted
version, with the error name), and roots/manifests/ (manifests signed by the
revoked and by the new key).
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402  (gen.HERE follows sys.argv[1] too)

HERE = os.path.join(gen.HERE, "roots")
PTYPE = "application/vnd.hotpatch.root.v1+json"
CTX_ROOT = b"hotpatch-root-v1\n"
NOW = gen.NOW
RA, RB, RC, RD = (gen.Key("root-" + n) for n in "abcd")
M, O = gen.MANIFEST_KEY, gen.OTHER_KEY
B = gen.BUNDLE_KEY


def pk(k):
    return gen.b64(k.pk)


def root(version, root_keys, threshold, manifest_keys, release_keys=(), revoked=(), **kw):
    p = {"schema": 1, "app": "demo", "version": version, "issued_at": NOW - 3600, "expires_at": gen.EXPIRES,
         "threshold": threshold, "root_keys": sorted(pk(k) for k in root_keys),
         "manifest_keys": sorted(pk(k) for k in manifest_keys), "release_keys": sorted(pk(k) for k in release_keys),
         "revoked_keys": sorted(revoked)}
    p.update(kw)
    return p


def env(p, signers, ctx=CTX_ROOT, raw=None):
    pb = raw if raw is not None else gen.canon(p)
    sigs = [{"keyid": k.keyid, "sig": gen.b64(k.sign(ctx, pb))} for k in signers]
    return gen.canon({"payload": pb.decode(), "payload_type": PTYPE, "signatures": sigs})


def write(rel, data, mode=0o644):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, mode)


def main():
    for k in (RA, RB, RC, RD):
        secret = {"keyid": k.keyid, "public_key": pk(k), "secret_key": gen.b64(k.seed + k.pk),
                  "type": "hotpatch-ed25519-secret-key"}
        write("keys/%s.secret.json" % k.name, gen.canon(secret) + b"\n", 0o600)
        write("keys/%s.pub" % k.name, pk(k) + "\n")
    v1 = root(1, (RA, RB, RC), 2, (M,), (B,))
    v2 = root(2, (RA, RB, RC), 2, (M, O), (B,))
    v3 = root(3, (RB, RC, RD), 2, (O,), (B,), revoked=(M.keyid,))
    chain = [(v1, (RA, RB)), (v2, (RB, RC)), (v3, (RA, RB, RC))]
    expect = []
    for p, signers in chain:
        write("chain/%d.json" % p["version"], env(p, signers))
        expect.append({"version": p["version"], "manifest_keyids": sorted(k.keyid for k in ((M,), (M, O), (O,))[p["version"] - 1]),
                       "signers": [k.keyid for k in signers], "payload_sha256": gen.hashlib.sha256(gen.canon(p)).hexdigest()})
    # manifests for the revocation cases: signed by the revoked key and by the new one
    man = gen.payload([gen.release("r1")], app="demo", sequence=7)
    write("manifests/by-manifest.json", gen.envelope(gen.canon(man), [M]))
    write("manifests/by-other.json", gen.envelope(gen.canon(dict(man, sequence=8)), [O]))

    cases = []

    def bad(name, data, trusted, error, why):
        write("rejected/%s.json" % name, data)
        cases.append({"file": name + ".json", "trusted": trusted, "error": error, "why": why})

    bad("below-threshold", env(v2, (RA,)), 1, "bad_signature", "one signature by root 1's keys, threshold 2")
    bad("own-threshold", env(root(2, (RD,), 1, (M,)), (RA, RB)), 1, "bad_signature",
        "root 1's keys signed it, but not its own new root key: a rotation that would lock itself out")
    bad("own-threshold-2", env(root(2, (RA, RD), 2, (M,)), (RA, RB)), 1, "bad_signature",
        "its own threshold is 2 of {a,d} and only a signed")
    bad("rollback", env(v1, (RA, RB)), 2, "replay", "version 1 offered after version 2")
    bad("same-version", env(v2, (RA, RB)), 2, "replay", "version 2 offered again as the successor of 2")
    bad("skips-version", env(root(4, (RA, RB, RC), 2, (M,)), (RA, RB)), 2, "invalid", "version 4 at position 3")
    bad("other-app", env(root(2, (RA, RB, RC), 2, (M,), app="other"), (RA, RB)), 1, "invalid", "another app's root")
    bad("manifest-context", env(v2, (RA, RB), ctx=gen.CTX_MANIFEST), 1, "bad_signature",
        "signed with the manifest domain prefix")
    bad("unknown-field", env(dict(v2, extra=1), (RA, RB)), 1, "parse", "unknown payload member")
    bad("not-canonical", env(v2, (RA, RB), raw=gen.json.dumps(v2, sort_keys=True).encode()), 1, "parse",
        "payload with insignificant whitespace")
    bad("root-is-manifest-key", env(root(2, (RA, RB, M), 2, (M,)), (RA, RB)), 1, "parse",
        "a key is both a root key and a manifest key")
    bad("threshold-zero", env(root(2, (RA, RB, RC), 0, (M,)), (RA, RB)), 1, "parse", "threshold 0")
    bad("threshold-above-keys", env(root(2, (RA, RB), 3, (M,)), (RA, RB)), 1, "parse", "threshold above the key count")
    p = root(2, (RA, RB, RC), 2, (M,))
    p["root_keys"] = list(reversed(p["root_keys"]))
    bad("keys-unsorted", env(p, (RA, RB)), 1, "parse", "root_keys not sorted")
    bad("revoked-still-listed", env(root(2, (RA, RB, RC), 2, (M,), revoked=(M.keyid,)), (RA, RB)), 1, "parse",
        "a revoked key id is still a manifest key")
    bad("no-manifest-keys", env(root(2, (RA, RB, RC), 2, ()), (RA, RB)), 1, "parse", "no manifest keys")
    bad("schema-2", env(dict(v2, schema=2), (RA, RB)), 1, "unsupported", "schema 2")
    bad("wrong-payload-type", gen.canon({"payload": gen.canon(v2).decode(), "payload_type": gen.PAYLOAD_TYPE,
                                         "signatures": []}), 1, "parse", "a manifest payload type")
    bad("expired-initial", env(root(1, (RA, RB, RC), 2, (M,), expires_at=NOW - 1, issued_at=NOW - 100), (RA, RB)),
        None, "expired", "the only root expired: opening works, freshness fails")
    gen.write_json("roots/cases.json", {"now": NOW, "chain": expect, "rejected": cases,
                                        "revoked_manifest": {"file": "manifests/by-manifest.json",
                                                             "error": "unknown_key", "keyid": M.keyid},
                                        "new_key_manifest": {"file": "manifests/by-other.json", "signed_by": O.keyid}})


if __name__ == "__main__":
    main()
