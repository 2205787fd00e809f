#!/usr/bin/env python3
"""Generator of the HotPatch manifest golden vectors (manifests/vectors/).

This is a second, independent implementation of the format in Python (stdlib
only): canonical JSON (json.dumps with sorted keys, no whitespace and no ASCII
escaping reproduces the escaping rules of SPEC.md exactly), Ed25519 (RFC 8032,
written out below), key ids, envelopes, cohort buckets and the decision rules.
The C implementation is tested against the files written here, so a bug would
have to be made twice, the same way, in two languages to go unnoticed.

The committed outputs are the golden truth. Re-running this script must
reproduce them byte for byte (Ed25519 is deterministic and the keys come from
fixed seeds); `git diff --exit-code manifests/vectors` after a run proves it.

THE SECRET KEYS WRITTEN TO keys/ ARE TEST KEYS, PUBLISHED IN THIS REPOSITORY.
Never trust them anywhere but in tests.
"""
import base64
import hashlib
import json
import os
import shutil
import sys

# Output directory: this one, or the first argument (used by the test that
# proves the committed files are reproducible).
HERE = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
NOW = 1767225600          # 2026-01-01T00:00:00Z, the "now" every case is opened at
ISSUED = NOW - 3600
EXPIRES = 2000000000      # 2033-05-18
PAYLOAD_TYPE = "application/vnd.hotpatch.manifest.v1+json"
CTX_MANIFEST = b"hotpatch-manifest-v1\n"
CTX_BUNDLE = b"hotpatch-bundle-v1\n"
MAX_BYTES = 4 << 20

# ---------------------------------------------------------------- Ed25519 (RFC 8032)
P = 2 ** 255 - 19
L = 2 ** 252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _inv(x):
    return pow(x, P - 2, P)


def _add(a, b):
    # Extended twisted Edwards coordinates (X, Y, Z, T), RFC 8032 5.1.4.
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    A = (y1 - x1) * (y2 - x2) % P
    B = (y1 + x1) * (y2 + x2) % P
    C = 2 * t1 * t2 * D % P
    Dd = 2 * z1 * z2 % P
    E, F, G, H = B - A, Dd - C, Dd + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def _mul(s, pt):
    q = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        s >>= 1
    return q


def _recover_x(y, sign):
    x2 = (y * y - 1) * _inv(D * y * y + 1) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    assert (x * x - x2) % P == 0
    if (x & 1) != sign:
        x = P - x
    return x


_GY = 4 * _inv(5) % P
_GX = _recover_x(_GY, 0)
G = (_GX, _GY, 1, _GX * _GY % P)


def _compress(pt):
    zi = _inv(pt[2])
    x, y = pt[0] * zi % P, pt[1] * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _expand(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def ed25519_public(seed):
    a, _ = _expand(seed)
    return _compress(_mul(a, G))


def ed25519_sign(seed, msg):
    a, prefix = _expand(seed)
    A = _compress(_mul(a, G))
    r = int.from_bytes(hashlib.sha512(prefix + msg).digest(), "little") % L
    R = _compress(_mul(r, G))
    k = int.from_bytes(hashlib.sha512(R + A + msg).digest(), "little") % L
    s = (r + k * a) % L
    return R + s.to_bytes(32, "little")


# ---------------------------------------------------------------- format helpers
def canon(obj):
    """Canonical JSON bytes (SPEC.md "Canonical JSON")."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def b64(b):
    return base64.b64encode(b).decode()


class Key:
    def __init__(self, name):
        self.name = name
        self.seed = hashlib.sha256(("hotpatch test vector key: " + name).encode()).digest()
        self.pk = ed25519_public(self.seed)
        self.keyid = hashlib.sha256(self.pk).hexdigest()[:16]

    def sign(self, ctx, msg):
        return ed25519_sign(self.seed, ctx + msg)


MANIFEST_KEY = Key("manifest")
OTHER_KEY = Key("other")
BUNDLE_KEY = Key("bundle")


def envelope(payload_bytes, signers, keyid_override=None):
    sigs = []
    for k in signers:
        sigs.append({"keyid": keyid_override or k.keyid, "sig": b64(k.sign(CTX_MANIFEST, payload_bytes))})
    return canon({"payload": payload_bytes.decode("utf-8"), "payload_type": PAYLOAD_TYPE, "signatures": sigs})


def release(rid, **kw):
    content = ("bundle " + rid).encode()
    digest = hashlib.sha256(content).digest()
    r = {
        "id": rid,
        "version": kw.pop("version", "1.0." + rid[-1]),
        "target_binary": kw.pop("target_binary", "^2.0.0"),
        "bundle_url": kw.pop("bundle_url", "bundles/demo/%s.zip" % hashlib.sha256(content).hexdigest()[:16]),
        "sha256": digest.hex(),
        "size": kw.pop("size", len(content)),
        "bundle_sig": b64(BUNDLE_KEY.sign(CTX_BUNDLE, digest)),
        "bundle_keyid": BUNDLE_KEY.keyid,
        "mandatory": kw.pop("mandatory", False),
        "rollout_bp": kw.pop("rollout_bp", 10000),
        "state": kw.pop("state", "active"),
        "created_at": kw.pop("created_at", ISSUED - 100),
    }
    r.update(kw)
    return r


def legacy_sig(rid):
    """SPEC.md section 15: Ed25519 by the release key over the raw digest of release(rid)'s bundle."""
    return b64(ed25519_sign(BUNDLE_KEY.seed, hashlib.sha256(("bundle " + rid).encode()).digest()))


def payload(releases, **kw):
    p = {"schema": 1, "app": "demo", "platform": "ios", "channel": "production", "sequence": 42,
         "issued_at": ISSUED, "expires_at": EXPIRES, "releases": releases}
    p.update(kw)
    return p


def write(rel, data, mode=0o644):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    os.chmod(path, mode)


def write_json(rel, obj):
    write(rel, json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n")


# ---------------------------------------------------------------- keys
def gen_keys():
    for k in (MANIFEST_KEY, OTHER_KEY, BUNDLE_KEY):
        secret = {"keyid": k.keyid, "public_key": b64(k.pk), "secret_key": b64(k.seed + k.pk),
                  "type": "hotpatch-ed25519-secret-key"}
        write("keys/%s.secret.json" % k.name, canon(secret) + b"\n", 0o600)
        write("keys/%s.pub" % k.name, b64(k.pk) + "\n")
    write_json("keys/keys.json", {
        "comment": "TEST KEYS ONLY: their secret halves are published in this repository",
        "keys": [{"name": k.name, "keyid": k.keyid, "public_key": b64(k.pk)}
                 for k in (MANIFEST_KEY, OTHER_KEY, BUNDLE_KEY)],
        "trusted_for_manifests": [MANIFEST_KEY.keyid],
    })


# ---------------------------------------------------------------- canonical JSON
CANONICAL = {
    "empty-object": b"{ }",
    "scalars": b"[ true, false, null, 0, -0, 1, -1, 9007199254740991, -9007199254740991 ]",
    "key-order": b'{"b":1,"a":2,"A":3,"aa":4,"":5,"_":6,"B":7,"1":8}',
    "key-order-utf8-bytes": '{"\u00e9":1,"z":2,"\uffff":3,"\U0001F600":4,"e":5,"\u0100":6}'.encode(),
    "escapes": b'"quote \\" backslash \\\\ slash \\/ b\\b f\\f n\\n r\\r t\\t"',
    "control-chars": b'"\\u0001\\u001f\\u0008\\u000b\\u000A\\u007F"',
    "unicode-escaped-to-literal": b'"\\u00e9\\u4e2d\\ud83d\\ude00\\u2028\\u007f\\u001f"',
    "unicode-literal": '"caf\u00e9 \u4e2d\u6587 \U0001F680"'.encode(),
    "nested": b'{"z":{"y":[{"b":[],"a":{}}],"x":null},"a":[[[1]],{"k":"v"}]}',
    "whitespace": b' \n\t{ "a" :\r\n [ 1 ,\t2 ] }\n',
    "manifest-like": b'{"releases":[{"state":"active","id":"r1"}],"app":"demo","schema":1}',
    "deep-32": b"[" * 32 + b"]" * 32,
}

CANONICAL_REJECT = {
    # name: (bytes, error name)
    "duplicate-key": (b'{"a":1,"b":2,"a":3}', "parse"),
    "duplicate-key-nested": (b'{"x":{"k":1,"k":1}}', "parse"),
    "float": (b'{"size":1.0}', "parse"),
    "exponent": (b"[1e2]", "parse"),
    "int-too-big": (b"[9007199254740992]", "parse"),
    "deep-33": (b"[" * 33 + b"]" * 33, "too_big"),
    "deep-10000": (b"[" * 10000, "too_big"),
    "invalid-utf8": (b'{"a":"\xff\xfe"}', "parse"),
    "overlong-utf8": (b'"\xc0\xae"', "parse"),
    "nul-escape": (b'"a\\u0000b"', "parse"),
    "lone-surrogate": (b'"\\udc00"', "parse"),
    "trailing-garbage": (b'{"a":1}x', "parse"),
    "two-documents": (b"{}{}", "parse"),
    "trailing-comma": (b"[1,]", "parse"),
    "single-quotes": (b"{'a':1}", "parse"),
    "bom": (b"\xef\xbb\xbf{}", "parse"),
    "empty": (b"", "parse"),
    "nan": (b"[NaN]", "parse"),
}


def gen_canonical():
    d = os.path.join(HERE, "canonical")
    shutil.rmtree(d, ignore_errors=True)
    for name, raw in CANONICAL.items():
        obj = json.loads(raw.decode("utf-8"))
        write("canonical/%s.in.json" % name, raw)
        write("canonical/%s.out.json" % name, canon(obj))
    cases = []
    for name, (raw, err) in CANONICAL_REJECT.items():
        write("canonical/reject/%s.json" % name, raw)
        cases.append({"file": "%s.json" % name, "error": err})
    write_json("canonical/reject/cases.json", {"cases": cases})


# ---------------------------------------------------------------- signed manifests
def rel_summary(r):
    t = r.get("targeting", {})
    return {"id": r["id"], "version": r["version"], "state": r["state"], "rollout_bp": r["rollout_bp"],
            "mandatory": r["mandatory"], "size": r["size"], "sha256": r["sha256"],
            "target_binary": r["target_binary"], "bundle_url": r["bundle_url"], "notes": r.get("notes"),
            "n_device_ids": len(t.get("device_ids", [])), "device_list": t.get("device_list"),
            **({"legacy_signature": r["legacy_signature"]} if "legacy_signature" in r else {}),
            **({"codepush_hash": r["codepush_hash"]} if "codepush_hash" in r else {})}


def summary(p, signer):
    return {"app": p["app"], "platform": p["platform"], "channel": p["channel"], "sequence": p["sequence"],
            "issued_at": p["issued_at"], "expires_at": p["expires_at"], "signed_by": signer.keyid,
            "payload_sha256": hashlib.sha256(canon(p)).hexdigest(), "retired": p.get("retired", False),
            "releases": [rel_summary(r) for r in p["releases"]],
            **({"codepush_keys": p["codepush_keys"]} if "codepush_keys" in p else {})}


SIGNED = {}
CODEPUSH_KEYS = sorted(hashlib.sha256(k.encode()).hexdigest() for k in
                       ("demo~android~production~0123456789abcdef0123456789abcdef",
                        "demo~android~production~fedcba9876543210fedcba9876543210"))
# react-native-code-push's package hash of a tree holding one file "CodePush/index.android.bundle" = "bundle r1"
CODEPUSH_HASH = hashlib.sha256(json.dumps(["CodePush/index.android.bundle:" + hashlib.sha256(b"bundle r1").hexdigest()],
                                          separators=(",", ":")).encode()).hexdigest()


def gen_signed():
    d = os.path.join(HERE, "signed")
    shutil.rmtree(d, ignore_errors=True)
    notes = ('Fixes "login" crash \\ retries\n\tTab, control \u0001, caf\u00e9, \u4e2d\u6587, '
             '\U0001F680, line sep \u2028, del \u007f')
    cases = {
        "basic": (payload([release("r1")]), [MANIFEST_KEY]),
        "full": (payload([
            release("r1", state="disabled", created_at=ISSUED - 900),
            release("r2", state="rolled_back", mandatory=True, created_at=ISSUED - 800),
            release("r3", state="halted", rollout_bp=2500, target_binary=">=2.0.0 <2.5.0 || 3.x",
                    created_at=ISSUED - 700),
            release("r4", notes=notes, mandatory=True, rollout_bp=5000,
                    bundle_url="https://cdn.example.com/demo/r4.zip",
                    targeting={"device_ids": ["dev-0001", "dev-0002", "dev-\u00e9"], "device_list": "beta"}),
            release("r5", version="2.0.0-beta.1 (build 77)", target_binary="~2.1.0", rollout_bp=0,
                    targeting={"device_list": "qa-team"}),
        ], sequence=9007199254740991), [MANIFEST_KEY]),
        "empty-releases": (payload([], channel="staging", platform="android", sequence=1), [MANIFEST_KEY]),
        "two-signatures": (payload([release("r1")], sequence=43), [OTHER_KEY, MANIFEST_KEY]),
        "many-releases": (payload([release("rel-%03d" % i, version="1.%d.0" % i) for i in range(256)],
                                  sequence=44), [MANIFEST_KEY]),
        # SPEC.md section 15: the opt-in signature over the bare digest, beside bundle_sig.
        "legacy-signature": (payload([release("r1", legacy_signature=legacy_sig("r1")), release("r2")],
                                     sequence=45), [MANIFEST_KEY]),
        # A tombstone (SPEC.md section 7): the channel is retired, signed and sequenced like any manifest.
        "tombstone": (payload([], channel="retired", sequence=NOW * 1000, retired=True), [MANIFEST_KEY]),
        # CodePush members (SPEC.md section 16): deployment key hashes, sorted; per-release package hash.
        "codepush": (payload([release("r1", codepush_hash=CODEPUSH_HASH), release("r2")], platform="android",
                             sequence=45, codepush_keys=CODEPUSH_KEYS), [MANIFEST_KEY]),
    }
    index = []
    for name, (p, signers) in cases.items():
        doc = envelope(canon(p), signers)
        assert len(doc) <= MAX_BYTES
        write("signed/%s.json" % name, doc)
        write_json("signed/%s.expect.json" % name, summary(p, MANIFEST_KEY))
        SIGNED[name] = p
        index.append(name)
    # The envelope itself need not be canonical (only the payload is signed):
    # the same signed payload, pretty-printed.
    env = json.loads(envelope(canon(cases["basic"][0]), [MANIFEST_KEY]))
    write("signed/pretty-envelope.json", json.dumps(env, indent=2) + "\n")
    write_json("signed/pretty-envelope.expect.json", summary(cases["basic"][0], MANIFEST_KEY))
    index.append("pretty-envelope")
    write_json("signed/cases.json", {"now": NOW, "trusted": [MANIFEST_KEY.keyid], "cases": index})


# ---------------------------------------------------------------- rejected manifests
def gen_rejected():
    d = os.path.join(HERE, "rejected")
    shutil.rmtree(d, ignore_errors=True)
    good = payload([release("r1"), release("r2", mandatory=True)])
    gp = canon(good)
    cases = []

    def add(name, data, error, why, **extra):
        write("rejected/%s.json" % name, data)
        c = {"file": name + ".json", "error": error, "why": why}
        c.update(extra)
        cases.append(c)

    def signed_text(text, signers=(MANIFEST_KEY,)):
        return envelope(text.encode("utf-8") if isinstance(text, str) else text, list(signers))

    valid = envelope(gp, [MANIFEST_KEY])
    i = valid.index(b'"channel\\":\\"production')
    tampered = valid[:i + 13] + b"P" + valid[i + 14:]
    assert tampered != valid and len(tampered) == len(valid)
    add("tampered-payload", tampered, "bad_signature", "one byte of the signed payload changed after signing")
    add("unknown-key", envelope(gp, [OTHER_KEY]), "unknown_key", "signed only by a key that is not trusted")
    add("wrong-key-trusted-keyid", envelope(gp, [OTHER_KEY], keyid_override=MANIFEST_KEY.keyid), "bad_signature",
        "signed by another key but labelled with the trusted key id")
    sig_swapped = json.loads(valid)
    sig_swapped["signatures"][0]["sig"] = b64(MANIFEST_KEY.sign(CTX_BUNDLE, gp))
    add("bundle-context-signature", canon(sig_swapped), "bad_signature",
        "signature made with the bundle domain prefix instead of the manifest one")
    add("expired", envelope(canon(payload([release("r1")], expires_at=NOW - 1)), [MANIFEST_KEY]), "expired",
        "expires_at is before now")
    add("expired-at-now", envelope(canon(payload([release("r1")], expires_at=NOW)), [MANIFEST_KEY]), "expired",
        "expires_at equal to now counts as expired")
    add("codepush-keys-unsorted", envelope(canon(payload([release("r1")], codepush_keys=CODEPUSH_KEYS[::-1])),
                                           [MANIFEST_KEY]), "parse", "codepush_keys must be sorted and unique")
    add("codepush-keys-empty", envelope(canon(payload([release("r1")], codepush_keys=[])), [MANIFEST_KEY]), "parse",
        "an empty key list is written as no list")
    add("codepush-key-upper", envelope(canon(payload([release("r1")], codepush_keys=[CODEPUSH_KEYS[0].upper()])),
                                       [MANIFEST_KEY]), "parse", "key hashes are lower-case hex")
    add("codepush-hash-short", envelope(canon(payload([release("r1", codepush_hash=CODEPUSH_HASH[:63])])),
                                        [MANIFEST_KEY]), "parse", "codepush_hash is 64 lower-case hex")
    add("replayed", envelope(canon(payload([release("r1")], sequence=41)), [MANIFEST_KEY]), "replay",
        "sequence 41 is lower than the 42 the client already accepted", min_sequence=42)
    # SPEC.md section 7: a writer that lost the channel's manifest and restarted at 1 is what
    # devices refuse; the clock floor (sequence.json) is what prevents it.
    add("restarted-at-one", envelope(canon(payload([release("r1")], sequence=1)), [MANIFEST_KEY]), "replay",
        "a writer that lost the manifest restarted the channel at 1 below the clock-floored sequence "
        "the client accepted", min_sequence=NOW * 1000 + 2)
    add("wrong-app", valid, "invalid", "a valid manifest for app 'demo' where 'other' was expected",
        expect_app="other")
    add("wrong-channel", valid, "invalid", "a valid manifest for channel 'production' where 'beta' was expected",
        expect_channel="beta")
    add("noncanonical-payload-space", signed_text(gp.decode().replace('{"app"', '{ "app"', 1)), "parse",
        "payload has insignificant whitespace (correctly signed)")
    reordered = gp.decode().replace('"app":"demo","channel":"production"', '"channel":"production","app":"demo"')
    assert reordered != gp.decode()
    add("noncanonical-payload-key-order", signed_text(reordered), "parse", "payload keys are not sorted")
    add("noncanonical-payload-escape", signed_text(gp.decode().replace('"demo"', '"d\\u0065mo"', 1)), "parse",
        "payload escapes a character the canonical form writes literally")
    add("duplicate-key-payload", signed_text(gp.decode().replace('{"app":"demo"', '{"app":"demo","app":"demo"', 1)),
        "parse", "payload repeats a key (correctly signed)")
    env_dup = valid.decode().replace('{"payload":', '{"payload_type":"%s","payload":' % PAYLOAD_TYPE, 1)
    add("duplicate-key-envelope", env_dup, "parse", "envelope repeats a key")
    add("float", signed_text(gp.decode().replace('"size":9', '"size":9.0', 1)), "parse",
        "a number with a fraction in the payload")
    add("float-exponent", signed_text(gp.decode().replace('"sequence":42', '"sequence":4.2e1', 1)), "parse",
        "a number with an exponent in the payload")
    p = payload([release("r1")])
    p["comment"] = "x"
    add("unknown-field-payload", envelope(canon(p), [MANIFEST_KEY]), "parse", "payload has a field the spec does not define")
    p = payload([release("r1", cohort_salt="x")])
    add("unknown-field-release", envelope(canon(p), [MANIFEST_KEY]), "parse", "a release has an unknown field")
    p = payload([release("r1", targeting={"device_ids": ["a"], "country": "NZ"})])
    add("unknown-field-targeting", envelope(canon(p), [MANIFEST_KEY]), "parse", "targeting has an unknown field")
    env = json.loads(valid)
    env["x-cache"] = "hit"
    add("unknown-field-envelope", canon(env), "parse", "envelope has an unknown field")
    pad = MAX_BYTES + 1 - len(valid)
    add("oversize", valid[:-1] + b" " * pad + b"}", "too_big", "envelope of 4 MiB + 1 byte")
    p = payload([release("r1")])
    deep = "x"
    for _ in range(40):
        deep = [deep]
    p["releases"][0]["notes"] = "placeholder"
    deep_text = canon(p).decode().replace('"placeholder"', json.dumps(deep, separators=(",", ":")))
    add("deep-nesting-payload", signed_text(deep_text), "too_big", "signed payload nested 41 levels deep")
    env = valid.decode()
    add("deep-nesting-envelope", env[:-1] + ',"z":' + "[" * 100 + "]" * 100 + "}", "too_big",
        "envelope nested 101 levels deep")
    add("invalid-utf8", valid.replace(b'"demo', b'"d\xffmo', 1), "parse", "invalid UTF-8 inside the envelope")
    add("truncated", valid[: len(valid) // 2], "parse", "document cut in the middle")
    add("empty", b"", "parse", "zero bytes")
    env = json.loads(valid)
    env["payload_type"] = "application/json"
    add("wrong-payload-type", canon(env), "parse", "payload_type is not the manifest type")
    env = json.loads(valid)
    env["signatures"] = []
    add("no-signatures", canon(env), "parse", "signatures array is empty")
    add("schema-2", envelope(canon(payload([], schema=2)), [MANIFEST_KEY]), "unsupported",
        "schema version this implementation does not know")
    bad = payload([release("r1")])
    bad["releases"][0]["sha256"] = bad["releases"][0]["sha256"].upper()
    add("sha256-uppercase", envelope(canon(bad), [MANIFEST_KEY]), "parse", "sha256 must be lower-case hex")
    bad = payload([release("r1", bundle_url="bundles/../../../etc/passwd")])
    add("bundle-url-dotdot", envelope(canon(bad), [MANIFEST_KEY]), "parse", "bundle_url escapes the storage root")
    bad = payload([release("r1", bundle_url="http://cdn.example.com/r1.zip")])
    add("bundle-url-http", envelope(canon(bad), [MANIFEST_KEY]), "parse", "bundle_url over plain http")
    bad = payload([release("r1", targeting={"device_ids": ["b", "a"]})])
    add("device-ids-unsorted", envelope(canon(bad), [MANIFEST_KEY]), "parse", "device_ids must be sorted")
    bad = payload([release("r1", legacy_signature=legacy_sig("r1")[:-4])])
    add("legacy-signature-short", envelope(canon(bad), [MANIFEST_KEY]), "parse",
        "legacy_signature must be base64 of a 64-byte signature")
    bad = payload([release("r1", legacy_signature=None)])
    add("legacy-signature-null", envelope(canon(bad), [MANIFEST_KEY]), "parse", "legacy_signature must be a string")
    bad = payload([release("r1", rollout_bp=10001)])
    add("rollout-over-100", envelope(canon(bad), [MANIFEST_KEY]), "parse", "rollout_bp above 10000")
    bad = payload([release("r1"), release("r1")])
    add("duplicate-release-id", envelope(canon(bad), [MANIFEST_KEY]), "parse", "two releases share an id")
    bad = payload([release("r1", state="paused")])
    add("unknown-state", envelope(canon(bad), [MANIFEST_KEY]), "parse", "state is not one of the four")
    bad = payload([release("r1", target_binary="banana")])
    add("bad-target-range", envelope(canon(bad), [MANIFEST_KEY]), "parse", "target_binary is not a range")
    bad = payload([release("r1", size=0)])
    add("size-zero", envelope(canon(bad), [MANIFEST_KEY]), "parse", "size must be positive")
    add("tombstone-with-releases", envelope(canon(payload([release("r1")], retired=True)), [MANIFEST_KEY]), "parse",
        "a tombstone (retired channel) lists no releases")
    add("retired-false", envelope(canon(payload([release("r1")], retired=False)), [MANIFEST_KEY]), "parse",
        "'retired' is true when present, never false")
    bad = payload([release("r1")], sequence=0)
    add("sequence-zero", envelope(canon(bad), [MANIFEST_KEY]), "parse", "sequence starts at 1")
    bad = payload([release("r1")], app="demo app")
    add("bad-app-id", envelope(canon(bad), [MANIFEST_KEY]), "parse", "app id outside [A-Za-z0-9._-]")
    write_json("rejected/cases.json", {"now": NOW, "trusted": [MANIFEST_KEY.keyid], "cases": cases})


# ---------------------------------------------------------------- semver ranges
SEMVER_MATCH = [
    # range, version, expected match (hand-written from semver.h, not computed)
    ("1.2.3", "1.2.3", True), ("1.2.3", "1.2.4", False), ("=1.2.3", "1.2.3", True),
    ("1.2.3", "1.2.3+build.9", True), ("1.2.3-rc.1", "1.2.3-rc.1", True), ("1.2.3-rc.1", "1.2.3", False),
    ("1.2.x", "1.2.0", True), ("1.2.x", "1.2.99", True), ("1.2.x", "1.3.0", False), ("1.2.x", "1.1.9", False),
    ("1.2.*", "1.2.7", True), ("1.2", "1.2.7", True), ("1.2", "1.3.0", False), ("1.2.x", "1.3.0-alpha", False),
    ("1.2.x", "1.2.0-alpha", False), ("1.x", "1.9.9", True), ("1", "2.0.0", False), ("1.X", "1.0.0", True),
    ("*", "0.0.0", True), ("*", "99.99.99", True), ("x", "5.0.0", True), ("*", "1.0.0-alpha", True),
    ("^1.2.3", "1.2.3", True), ("^1.2.3", "1.9.0", True), ("^1.2.3", "2.0.0", False), ("^1.2.3", "1.2.2", False),
    ("^1.2.3", "2.0.0-alpha", False), ("^0.2.3", "0.2.9", True), ("^0.2.3", "0.3.0", False),
    ("^0.0.3", "0.0.3", True), ("^0.0.3", "0.0.4", False), ("^1.2", "1.2.0", True), ("^1.2", "1.99.0", True),
    ("^0.0", "0.0.9", True), ("^0.0", "0.1.0", False), ("^1.2.3-beta.2", "1.2.3-beta.3", True),
    ("~1.2.3", "1.2.9", True), ("~1.2.3", "1.3.0", False), ("~1.2.3", "1.2.2", False), ("~1.2", "1.2.0", True),
    ("~1", "1.9.0", True), ("~1", "2.0.0", False), ("~0.2.3", "0.2.4", True),
    (">=1.2.0 <1.3.0", "1.2.0", True), (">=1.2.0 <1.3.0", "1.2.99", True), (">=1.2.0 <1.3.0", "1.3.0", False),
    (">=1.2.0 <1.3.0", "1.1.9", False), (">1.2.0", "1.2.0", False), (">1.2.0", "1.2.1", True),
    ("<=1.2.0", "1.2.0", True), ("<=1.2.0", "1.2.1", False), ("<1.2.0", "1.2.0-rc.1", True),
    (">= 2.0.0", "2.0.0", True), (">1.2", "1.2.9", False), (">1.2", "1.3.0", True), ("<=1.2", "1.2.9", True),
    ("<=1.2", "1.3.0", False), ("<1.2", "1.1.9", True), ("<1.2", "1.2.0-alpha", False), (">=1.2", "1.2.0", True),
    ("1.0.0 || 2.0.0", "2.0.0", True), ("1.0.0 || 2.0.0", "1.5.0", False),
    ("<1.0.0 || >=3.0.0", "0.9.0", True), ("<1.0.0 || >=3.0.0", "3.1.0", True), ("<1.0.0 || >=3.0.0", "2.0.0", False),
    ("^1.0.0 || ^3.0.0", "3.4.5", True), (">=1.0.0 <2.0.0 || >=3.0.0 <4.0.0", "3.5.0", True),
    (">=1.0.0 <2.0.0 || >=3.0.0 <4.0.0", "2.5.0", False), ("1.0.0-alpha", "1.0.0-alpha.1", False),
    (">1.0.0-alpha", "1.0.0-alpha.1", True), (">1.0.0-alpha.beta", "1.0.0-beta", True),
    (">1.0.0-beta.2", "1.0.0-beta.11", True), (">1.0.0-rc.1", "1.0.0", True),
    ("2.1", "2.1", True), (">=2147483647.0.0", "2147483647.0.0", True),
]
SEMVER_BAD_RANGES = [
    ("", "parse"), ("   ", "parse"), ("||", "parse"), ("1.0.0 ||", "parse"), ("1.0.0 | 2.0.0", "parse"),
    (">", "parse"), ("v1.2.3", "parse"), ("1.2.3 - 2.0.0", "parse"), (">*", "parse"), ("~>1.2", "parse"),
    ("1.x.3", "parse"), ("01.2.3", "parse"), ("1.2.3.4", "parse"), ("a.b.c", "parse"), ("1.2.3-", "parse"),
    (">=1.0.0<2.0.0", "parse"), ("2147483648", "parse"),
    ("1 || 2 || 3 || 4 || 5", "too_big"), (">1 >2 >3 >4 >5", "too_big"), ("^1.0.0 ^1.0.0 ^1.0.0", "too_big"),
    ("1.0.0" + " " * 130, "too_big"),
]
SEMVER_BAD_VERSIONS = ["", "v1.0.0", "1.0.0.0", "01.0.0", "1.0.0-", "1.0.0-01", "1.0.0+", "1.0.0 ", "1..0",
                       "1.x", "*", "-1.0.0", "2147483648.0.0", "1.0.0-a_b"]
SEMVER_ORDER = ["0.0.0", "0.0.1", "0.1.0", "1.0.0-0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0",
                "2.0.0", "10.0.0"]


def gen_semver():
    write_json("semver.json", {
        "comment": "expected values written by hand from common/include/common/semver.h and SPEC.md",
        "match": [{"range": r, "version": v, "match": m} for r, v, m in SEMVER_MATCH],
        "bad_ranges": [{"range": r, "error": e} for r, e in SEMVER_BAD_RANGES],
        "bad_versions": SEMVER_BAD_VERSIONS,
        "ascending": SEMVER_ORDER,
    })


# ---------------------------------------------------------------- decisions
def fnv_bucket(rid, dev):
    h = 2166136261
    for b in (rid + ":" + dev).encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % 10000


def _ver(s):
    return tuple(int(x) for x in s.split("."))


def _match(rng, v):
    # The reference decide below only needs these range forms.
    if rng == "*":
        return True
    if rng.startswith("^"):
        lo = _ver(rng[1:])
        return lo <= v < (lo[0] + 1, 0, 0)
    lo, hi = rng.split()
    return _ver(lo[2:]) <= v < _ver(hi[1:])


def ref_decide(p, dev, lists):
    """Reference implementation of SPEC.md "Decision" (Python, independent of decide.c)."""
    rels = p["releases"]
    v = _ver(dev["binary_version"])
    ids = [r["id"] for r in rels]
    cur = ids.index(dev["current_release"]) if dev.get("current_release") in ids else -1

    def eligible(i):
        r = rels[i]
        if not (r["state"] == "active" or (r["state"] == "halted" and i == cur)):
            return False
        if not _match(r["target_binary"], v) or fnv_bucket(r["id"], dev["device_id"]) >= r["rollout_bp"]:
            return False
        t = r.get("targeting")
        if t is not None:
            inl = dev["device_id"] in t.get("device_ids", [])
            lst = "device_list" in t and lists is not None and dev["device_id"] in lists.get(t["device_list"], [])
            if not (inl or lst):
                return False
        return r["id"] not in dev.get("blocklist", [])

    cand = max([i for i in range(len(rels)) if eligible(i)], default=-1)
    if cur >= 0 and rels[cur]["state"] == "rolled_back":
        if cand < 0:
            return {"decision": "rollback", "release": None, "mandatory": True}
        if cand < cur:
            return {"decision": "update", "release": rels[cand]["id"], "mandatory": True}
    elif cand <= cur:
        return {"decision": "none", "release": None, "mandatory": False}
    mand = (cur >= 0 and rels[cur]["state"] == "rolled_back") or any(rels[i]["mandatory"] and rels[i]["state"] not in ("rolled_back", "disabled")
               and _match(rels[i]["target_binary"], v) for i in range(cur + 1, cand + 1))
    return {"decision": "update", "release": rels[cand]["id"], "mandatory": mand}


def gen_decisions():
    # Find device ids on either side of a 50% rollout for release "c4" (independent fnv).
    inside = next("dev-%04d" % i for i in range(10000) if fnv_bucket("c4", "dev-%04d" % i) < 5000)
    outside = next("dev-%04d" % i for i in range(10000) if fnv_bucket("c4", "dev-%04d" % i) >= 5000)
    chan = payload([
        release("c1", target_binary="^2.0.0"),
        release("c2", target_binary="^2.0.0", mandatory=True),
        release("c3", target_binary="^2.0.0", state="rolled_back", mandatory=True),
        release("c4", target_binary="^2.0.0", rollout_bp=5000),
        release("c5", target_binary="^3.0.0"),
        release("c6", target_binary="^2.0.0", state="halted"),
        release("c7", target_binary="^2.0.0", targeting={"device_ids": ["vip-1", "vip-2"], "device_list": "qa"}),
    ], channel="decide", sequence=100)
    rb = payload([
        release("b1", target_binary=">=2.0.0 <2.1.0"),
        release("b2", target_binary="^2.0.0", state="rolled_back"),
        release("b3", target_binary="^2.0.0", state="disabled"),
    ], channel="decide-rollback", sequence=7)
    write("signed/decide-channel.json", envelope(canon(chan), [MANIFEST_KEY]))
    write("signed/decide-rollback.json", envelope(canon(rb), [MANIFEST_KEY]))

    def dev(device_id, binary, current=None, blocklist=None):
        d = {"device_id": device_id, "binary_version": binary}
        if current is not None:
            d["current_release"] = current
        if blocklist:
            d["blocklist"] = blocklist
        return d

    # name, manifest, device, lists (None = no list callback), expected (hand-derived)
    C, R = ("decide-channel", chan), ("decide-rollback", rb)
    U = lambda rid, m=False: {"decision": "update", "release": rid, "mandatory": m}
    NONE = {"decision": "none", "release": None, "mandatory": False}
    ROLLBACK = {"decision": "rollback", "release": None, "mandatory": True}
    table = [
        ("embedded, in c4 cohort: newest eligible c4, mandatory c2 on the way", C, dev(inside, "2.3.0"), None,
         U("c4", True)),
        ("embedded, outside c4 cohort: c2 (mandatory itself)", C, dev(outside, "2.3.0"), None, U("c2", True)),
        ("on c2, in cohort: c4; c3 mandatory but rolled back", C, dev(inside, "2.3.0", "c2"), None, U("c4")),
        ("on c2, outside cohort: up to date", C, dev(outside, "2.3.0", "c2"), None, NONE),
        ("on c1, outside cohort: c2 mandatory", C, dev(outside, "2.3.0", "c1"), None, U("c2", True)),
        ("binary 3.0.0: c5 only; c2 is for ^2", C, dev(inside, "3.0.0"), None, U("c5")),
        ("binary 1.0.0: nothing targets it", C, dev(inside, "1.0.0"), None, NONE),
        ("on c4, in cohort: up to date", C, dev(inside, "2.3.0", "c4"), None, NONE),
        ("on c6 (halted): kept, nothing newer eligible", C, dev(inside, "2.3.0", "c6"), None, NONE),
        ("on c3 (rolled back), in cohort: forward to c4", C, dev(inside, "2.3.0", "c3"), None, U("c4", True)),
        ("on c3 (rolled back), outside cohort: back to c2", C, dev(outside, "2.3.0", "c3"), None, U("c2", True)),
        ("blocklisted c4: c2 offered from embedded", C, dev(inside, "2.3.0", None, ["c4"]), None, U("c2", True)),
        ("vip-1 inline target: c7", C, dev("vip-1", "2.0.0", "c2"), None, U("c7")),
        ("list member with callback: c7", C, dev("tester-9", "2.0.0", "c2"), {"qa": ["tester-9"]}, U("c7")),
        ("list member without callback (static CDN path): not c7", C, dev("tester-9", "2.0.0", "c2"), None,
         NONE if fnv_bucket("c4", "tester-9") >= 5000 else U("c4")),
        ("not in the list: not c7", C, dev("tester-8", "2.0.0", "c2"), {"qa": ["tester-9"]},
         NONE if fnv_bucket("c4", "tester-8") >= 5000 else U("c4")),
        ("unknown current release: from the start, mandatory c2 counts", C, dev(outside, "2.3.0", "zz"), None,
         U("c2", True)),
        ("on b2 rolled back, binary 2.0.5: older b1 eligible", R, dev("d", "2.0.5", "b2"), None, U("b1", True)),
        ("on b2 rolled back, binary 2.5.0: nothing older: rollback", R, dev("d", "2.5.0", "b2"), None, ROLLBACK),
        ("on b2 rolled back, b1 blocklisted: rollback", R, dev("d", "2.0.5", "b2", ["b1"]), None, ROLLBACK),
        ("on b3 disabled: kept (disabled is not rolled back)", R, dev("d", "2.5.0", "b3"), None, NONE),
        ("embedded 2.0.5: b1", R, dev("d", "2.0.5"), None, U("b1")),
    ]
    out = []
    for name, (mname, p), d, lists, want in table:
        got = ref_decide(p, d, lists)
        assert got == want, (name, got, want)
        out.append({"name": name, "manifest": "signed/%s.json" % mname, "device": d, "lists": lists, "expect": want})
    write_json("decisions.json", {"now": NOW, "trusted": [MANIFEST_KEY.keyid], "cases": out})


# ---------------------------------------------------------------- sequence rule (SPEC.md section 7)
MAX_SEQ = 2 ** 53 - 1


def next_sequence(prev, now_ms):
    """The sequence a writer issues next: max(prev + 1, now_ms), capped; None when prev is the cap."""
    if prev >= MAX_SEQ:
        return None
    return min(max(prev + 1, now_ms), MAX_SEQ)


def gen_sequence():
    now_ms = NOW * 1000
    table = [
        ("first manifest of a channel", 0, now_ms),
        ("clock ahead of the last sequence", 42, now_ms),
        ("two writes in the same millisecond", now_ms, now_ms),
        ("clock behind the last sequence (skew)", now_ms + 5000, now_ms),
        ("clock unset (0)", 7, 0),
        ("clock negative", 7, -1),
        ("legacy counter after a lost manifest: restarted at 0 but the clock floors it", 0, now_ms + 1),
        ("clock at 2^53-1", 1, MAX_SEQ),
        ("one below the cap", MAX_SEQ - 1, now_ms),
        ("at the cap nothing can follow", MAX_SEQ, now_ms),
    ]
    cases = []
    for name, prev, clock in table:
        nxt = next_sequence(prev, clock)
        assert nxt is None or (nxt > prev and nxt <= MAX_SEQ)
        cases.append({"name": name, "prev": prev, "now_ms": clock, "next": nxt})
    write_json("sequence.json", {"cases": cases})


# ---------------------------------------------------------------- content digests and patch entries
CTX_CONTENT = b"hotpatch-content-v1\n"


def content_listing(files):
    """SPEC section 14: one line per file, sorted by path as UTF-8 bytes."""
    out = b""
    for path in sorted(files, key=lambda k: k.encode("utf-8")):
        data = files[path]
        out += ("%s %d %s\n" % (hashlib.sha256(data).hexdigest(), len(data), path)).encode("utf-8")
    return out


def gen_patches():
    d = os.path.join(HERE, "patches")
    shutil.rmtree(d, ignore_errors=True)
    trees = {
        "fixture": {"index.android.bundle": b"\xc6\x1f\xbc\x03hermes bytecode stand-in\x00\x01",
                    "drawable-mdpi/assets_logo.png": b"\x89PNG\r\n\x1a\nlogo",
                    "raw/keep.xml": b"<keep/>\n"},
        # Byte order, not locale order: "B" (0x42) < "a" (0x61) < "b/x"; "caf\u00e9" after "cafz".
        "order": {"b/x": b"1", "B": b"", "a": b"22", "cafz": b"3", "caf\u00e9.js": b"4"},
        "empty": {},
    }
    cases = []
    for name, files in trees.items():
        listing = content_listing(files)
        digest = hashlib.sha256(listing).digest()
        cases.append({"name": name,
                      "files": {k: b64(v) for k, v in files.items()},
                      "listing": listing.decode("utf-8"),
                      "content_sha256": digest.hex(),
                      "content_sig": b64(BUNDLE_KEY.sign(CTX_CONTENT, digest)),
                      "bundle_sig_of_same_digest": b64(BUNDLE_KEY.sign(CTX_BUNDLE, digest))})
    write_json("patches/content.json", {"context": CTX_CONTENT.decode(), "signer": BUNDLE_KEY.keyid,
                                        "cases": cases})

    base1 = hashlib.sha256(content_listing({"a": b"1"})).hexdigest()
    base2 = cases[0]["content_sha256"]
    new = cases[1]
    def patch(base, tag):
        ph = hashlib.sha256(("patch " + tag).encode()).hexdigest()
        return {"base": base, "url": "patches/demo/ios/%s.patch" % ph, "sha256": ph, "size": 100 + len(tag)}
    pl = sorted([patch(base1, "one"), patch(base2, "two")], key=lambda x: x["base"])
    rel = release("r2", content_sha256=new["content_sha256"], content_sig=new["content_sig"], patches=pl)
    good = payload([release("r1"), rel], sequence=50)
    write("patches/signed.json", envelope(canon(good), [MANIFEST_KEY]))
    write_json("patches/signed.expect.json", {"release": "r2", "content_sha256": new["content_sha256"],
                                              "content_sig": new["content_sig"], "patches": pl,
                                              "payload_sha256": hashlib.sha256(canon(good)).hexdigest()})
    rejected = []

    def bad(name, r, why):
        write("patches/rejected-%s.json" % name, envelope(canon(payload([r], sequence=51)), [MANIFEST_KEY]))
        rejected.append({"file": "rejected-%s.json" % name, "error": "parse", "why": why})

    def with_(**kw):
        r = json.loads(json.dumps(rel))
        for k, v in kw.items():
            if v is None:
                r.pop(k)
            else:
                r[k] = v
        return r
    bad("patches-without-content", with_(content_sha256=None, content_sig=None), "patches need a content digest")
    bad("content-without-sig", with_(content_sig=None, patches=None), "content_sha256 needs content_sig")
    bad("patches-unsorted", with_(patches=list(reversed(pl))), "patches must be sorted by base")
    bad("patches-duplicate-base", with_(patches=[pl[0], pl[0]]), "one patch per base")
    bad("patches-empty", with_(patches=[]), "an empty patch list is written as no list")
    bad("patch-unknown-field", with_(patches=[dict(pl[0], method="bsdiff")]), "unknown fields are errors")
    bad("patch-url-dotdot", with_(patches=[dict(pl[0], url="patches/../x.patch")]), "url rules of bundle_url")
    bad("patch-size-zero", with_(patches=[dict(pl[0], size=0)]), "size 1..2^53-1")
    bad("content-sha256-upper", with_(content_sha256=new["content_sha256"].upper()), "lower-case hex")
    bad("content-sig-short", with_(content_sig=new["content_sig"][:-4]), "64-byte signature")
    write_json("patches/cases.json", {"now": NOW, "trusted": [MANIFEST_KEY.keyid], "signed": "signed.json",
                                      "rejected": rejected})


def main():
    gen_keys()
    gen_canonical()
    gen_signed()
    gen_rejected()
    gen_semver()
    gen_decisions()
    gen_sequence()
    gen_patches()


if __name__ == "__main__":
    main()
