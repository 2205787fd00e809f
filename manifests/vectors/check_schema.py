#!/usr/bin/env python3
"""Check manifests/manifest.schema.json and manifests/root.schema.json
against the golden vectors.

Every signed vector's envelope and decoded payload must validate; each
rejected vector whose defect is a shape the schema can express must fail
(the others, e.g. bad signatures or expiry, are outside a schema's reach).
Root documents (SPEC.md section 17): the payload of every roots/chain/
vector must validate against root.schema.json, the shape-defective
roots/rejected/ ones must fail, and so must variants of a valid root with a
required member missing, a member of the wrong type or an unknown member.
Implements the subset of JSON Schema 2020-12 the schemas use, with Python's
re for "pattern" (the patterns use only syntax common to ECMA-262 and re).
Prints TAP. Exit status 0 when everything passed.

    check_schema.py                  the golden vectors
    check_schema.py --root FILE...   root envelopes written by someone else
                                     (the CLI tests): each must be a root
                                     envelope whose payload validates
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = json.load(open(os.path.join(HERE, "..", "manifest.schema.json"), encoding="utf-8"))
ROOT_SCHEMA = json.load(open(os.path.join(HERE, "..", "root.schema.json"), encoding="utf-8"))
ROOT_PAYLOAD_TYPE = "application/vnd.hotpatch.root.v1+json"


def resolve(ref, top):
    assert ref.startswith("#/")
    node = top
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def is_type(v, t):
    return {"object": isinstance(v, dict), "array": isinstance(v, list), "string": isinstance(v, str),
            "boolean": isinstance(v, bool), "integer": isinstance(v, int) and not isinstance(v, bool),
            "number": isinstance(v, (int, float)) and not isinstance(v, bool), "null": v is None}[t]


def errors(v, s, path="$", top=None):
    """The ways v fails schema s; "$ref"s resolve in `top` (default: s itself, the whole schema)."""
    top = s if top is None or "$id" in s else top  # an embedded schema resolves its own "$ref"s
    out = []
    if "$ref" in s:
        out += errors(v, resolve(s["$ref"], top), path, top)
    if "type" in s and not is_type(v, s["type"]):
        return out + ["%s: not %s" % (path, s["type"])]
    if "const" in s and (v != s["const"] or type(v) is not type(s["const"])):
        out.append("%s: not %r" % (path, s["const"]))
    if "enum" in s and v not in s["enum"]:
        out.append("%s: not one of %s" % (path, s["enum"]))
    if "anyOf" in s and all(errors(v, sub, path, top) for sub in s["anyOf"]):
        out.append("%s: matches no alternative" % path)
    if isinstance(v, str):
        if len(v) < s.get("minLength", 0) or len(v) > s.get("maxLength", 1 << 60):
            out.append("%s: length" % path)
        if "pattern" in s and not re.search(s["pattern"], v):
            out.append("%s: does not match %s" % (path, s["pattern"]))
        if "contentSchema" in s:
            try:
                inner = json.loads(v)
            except ValueError:
                out.append("%s: content is not JSON" % path)
            else:
                out += errors(inner, s["contentSchema"], path + "<payload>", top)
    if isinstance(v, int) and not isinstance(v, bool):
        if v < s.get("minimum", -(1 << 63)) or v > s.get("maximum", 1 << 63):
            out.append("%s: out of range" % path)
    if isinstance(v, list):
        if len(v) < s.get("minItems", 0) or len(v) > s.get("maxItems", 1 << 60):
            out.append("%s: item count" % path)
        if s.get("uniqueItems") and len(set(json.dumps(x, sort_keys=True) for x in v)) != len(v):
            out.append("%s: items not unique" % path)
        for i, x in enumerate(v):
            if "items" in s:
                out += errors(x, s["items"], "%s[%d]" % (path, i), top)
    if isinstance(v, dict):
        for k in s.get("required", []):
            if k not in v:
                out.append("%s: missing %s" % (path, k))
        for k, deps in s.get("dependentRequired", {}).items():
            if k in v and any(d not in v for d in deps):
                out.append("%s: %s needs %s" % (path, k, ", ".join(deps)))
        if len(v) < s.get("minProperties", 0):
            out.append("%s: too few members" % path)
        props = s.get("properties", {})
        for k, x in v.items():
            if k in props:
                out += errors(x, props[k], path + "." + k, top)
            elif s.get("additionalProperties") is False:
                out.append("%s: unknown member %s" % (path, k))
    return out


# The root envelope (SPEC.md section 17): section 3's envelope with the root payload type, 0..16 signatures
# (a draft may have fewer than its threshold) and root.schema.json as the payload's schema.
ROOT_ENVELOPE = {
    "type": "object", "additionalProperties": False, "required": ["payload", "payload_type", "signatures"],
    "properties": {
        "payload": {"type": "string", "contentSchema": ROOT_SCHEMA},
        "payload_type": {"const": ROOT_PAYLOAD_TYPE},
        "signatures": {"type": "array", "maxItems": 16, "items": {
            "type": "object", "additionalProperties": False, "required": ["keyid", "sig"],
            "properties": {"keyid": SCHEMA["$defs"]["keyid"], "sig": SCHEMA["$defs"]["signature_b64"]}}}}}

# Every keyword errors() implements, and the annotations it may ignore: a schema using anything else would be
# checked only in part, silently.
KEYWORDS = {"$ref", "type", "const", "enum", "anyOf", "minLength", "maxLength", "pattern", "contentSchema", "minimum",
            "maximum", "minItems", "maxItems", "uniqueItems", "items", "required", "dependentRequired",
            "minProperties", "properties", "additionalProperties", "$defs",
            "$schema", "$id", "title", "description", "contentMediaType", "$comment", "examples", "format"}


def unknown_keywords(s, path="#"):
    out = ["%s/%s" % (path, k) for k in s if k not in KEYWORDS]
    if s.get("format"):
        out.append("%s/format (not checked)" % path)
    for k in ("properties", "$defs"):
        for name, sub in s.get(k, {}).items():
            out += unknown_keywords(sub, "%s/%s/%s" % (path, k, name))
    for k in ("items", "contentSchema"):
        if isinstance(s.get(k), dict):
            out += unknown_keywords(s[k], "%s/%s" % (path, k))
    for i, sub in enumerate(s.get("anyOf", [])):
        out += unknown_keywords(sub, "%s/anyOf/%d" % (path, i))
    return out


def load(*rel):
    return json.load(open(os.path.join(HERE, *rel), encoding="utf-8"))


def root_variants(p):
    """(name, payload) variants of a valid root payload p that root.schema.json must refuse."""
    for k in sorted(p):  # SPEC section 17: every member is required
        yield "without %s" % k, {m: v for m, v in p.items() if m != k}
    wrong = {"schema": "1", "app": 7, "version": "1", "issued_at": 1.5, "expires_at": True, "threshold": [2],
             "root_keys": p["root_keys"][0], "manifest_keys": {}, "release_keys": None, "revoked_keys": ""}
    for k, v in wrong.items():
        yield "with %s of the wrong type (%s)" % (k, type(v).__name__), dict(p, **{k: v})
    yield "with an unknown member", dict(p, extra=1)
    yield "with version 0", dict(p, version=0)
    yield "with threshold 17", dict(p, threshold=17)
    yield "with a fractional threshold", dict(p, threshold=1.5)
    yield "with an empty root_keys", dict(p, root_keys=[])
    yield "with a duplicate manifest key", dict(p, manifest_keys=p["manifest_keys"] * 2)
    yield "with a key that is not base64 of 32 bytes", dict(p, release_keys=[p["root_keys"][0][:-2] + "=="])
    yield "with an upper-case revoked key id", dict(p, revoked_keys=["4DEBA397F34E6B18"])
    yield "with 17 root keys", dict(p, root_keys=["%043d=" % i for i in range(17)])
    yield "with an app id containing a slash", dict(p, app="de/mo")


def check_roots(report):
    report(not unknown_keywords(ROOT_SCHEMA) and not unknown_keywords(SCHEMA),
           "the schemas use only keywords this checker implements %s" %
           " ".join(unknown_keywords(ROOT_SCHEMA) + unknown_keywords(SCHEMA)))
    cases = load("roots", "cases.json")
    for c in cases["chain"]:
        doc = load("roots", "chain", "%d.json" % c["version"])
        errs = errors(doc, ROOT_ENVELOPE)
        report(not errs, "root schema accepts roots/chain/%d.json %s" % (c["version"], "; ".join(errs[:3])))
    # Refused roots whose defect is a shape; the others (signatures, chain order, sorting, a key in two lists,
    # threshold above the key count, canonical form) are outside a schema's reach, and their shape is valid.
    shape = {"unknown-field.json", "schema-2.json", "threshold-zero.json", "no-manifest-keys.json",
             "wrong-payload-type.json"}
    for c in cases["rejected"]:
        doc = load("roots", "rejected", c["file"])
        errs = errors(doc, ROOT_ENVELOPE)
        if c["file"] in shape:
            report(bool(errs), "root schema rejects roots/rejected/%s" % c["file"])
        else:
            report(not errs, "root schema accepts roots/rejected/%s (%s: not a shape) %s" %
                   (c["file"], c["error"], "; ".join(errs[:3])))
    report(shape <= {c["file"] for c in cases["rejected"]}, "every shape-defective root vector exists")
    p = json.loads(load("roots", "chain", "1.json")["payload"])
    draft = {"payload": json.dumps(p), "payload_type": ROOT_PAYLOAD_TYPE, "signatures": []}
    errs = errors(draft, ROOT_ENVELOPE)
    report(not errs, "root schema accepts an unsigned draft of roots/chain/1.json %s" % "; ".join(errs[:3]))
    for name, bad in root_variants(p):
        report(bool(errors(bad, ROOT_SCHEMA)), "root schema rejects a root %s" % name)
        env = {"payload": json.dumps(bad), "payload_type": ROOT_PAYLOAD_TYPE, "signatures": []}
        report(bool(errors(env, ROOT_ENVELOPE)), "... and an envelope carrying it")


def check_root_files(paths, report):
    for path in paths:
        try:
            doc = json.load(open(path, encoding="utf-8"))
        except (OSError, ValueError) as e:
            report(False, "%s: %s" % (path, e))
            continue
        errs = errors(doc, ROOT_ENVELOPE)
        report(not errs, "root schema accepts %s %s" % (path, "; ".join(errs[:3])))


def main():
    n = failed = 0

    def report(good, name):
        nonlocal n, failed
        n += 1
        failed += not good
        print("%sok %d - %s" % ("" if good else "not ", n, name))

    if sys.argv[1:2] == ["--root"]:
        if not sys.argv[2:]:
            sys.exit("usage: check_schema.py [--root FILE...]")
        check_root_files(sys.argv[2:], report)
        print("1..%d" % n)
        return 1 if failed else 0

    for name in json.load(open(os.path.join(HERE, "signed", "cases.json")))["cases"] + ["decide-channel",
                                                                                        "decide-rollback"]:
        doc = json.load(open(os.path.join(HERE, "signed", name + ".json"), encoding="utf-8"))
        errs = errors(doc, SCHEMA)
        report(not errs, "schema accepts signed/%s.json %s" % (name, "; ".join(errs[:3])))
    # Rejected vectors whose defect is a matter of shape.
    shape = ["unknown-field-payload", "unknown-field-release", "unknown-field-targeting", "unknown-field-envelope",
             "wrong-payload-type", "no-signatures", "schema-2", "sha256-uppercase", "bundle-url-dotdot",
             "bundle-url-http", "rollout-over-100", "unknown-state", "size-zero", "sequence-zero", "bad-app-id",
             "retired-false", "legacy-signature-short", "legacy-signature-null"]
    for name in shape:
        doc = json.load(open(os.path.join(HERE, "rejected", name + ".json"), encoding="utf-8"))
        report(bool(errors(doc, SCHEMA)), "schema rejects rejected/%s.json" % name)
    # Patch entries (SPEC section 14).
    doc = json.load(open(os.path.join(HERE, "patches", "signed.json"), encoding="utf-8"))
    errs = errors(doc, SCHEMA)
    report(not errs, "schema accepts patches/signed.json %s" % "; ".join(errs[:3]))
    for name in ["patches-without-content", "content-without-sig", "patches-empty", "patch-unknown-field",
                 "patch-url-dotdot", "patch-size-zero", "content-sha256-upper", "patches-duplicate-base"]:
        doc = json.load(open(os.path.join(HERE, "patches", "rejected-%s.json" % name), encoding="utf-8"))
        report(bool(errors(doc, SCHEMA)), "schema rejects patches/rejected-%s.json" % name)
    # Roots of trust (SPEC section 17).
    check_roots(report)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
