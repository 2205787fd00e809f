#!/usr/bin/env python3
"""Check manifests/manifest.schema.json against the golden vectors.

Every signed vector's envelope and decoded payload must validate; each
rejected vector whose defect is a shape the schema can express must fail
(the others, e.g. bad signatures or expiry, are outside a schema's reach).
Implements the subset of JSON Schema 2020-12 the schema uses, with Python's
re for "pattern" (the patterns use only syntax common to ECMA-262 and re).
Prints TAP. Exit status 0 when everything passed.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = json.load(open(os.path.join(HERE, "..", "manifest.schema.json"), encoding="utf-8"))


def resolve(ref):
    assert ref.startswith("#/")
    node = SCHEMA
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def is_type(v, t):
    return {"object": isinstance(v, dict), "array": isinstance(v, list), "string": isinstance(v, str),
            "boolean": isinstance(v, bool), "integer": isinstance(v, int) and not isinstance(v, bool),
            "null": v is None}[t]


def errors(v, s, path="$"):
    out = []
    if "$ref" in s:
        out += errors(v, resolve(s["$ref"]), path)
    if "type" in s and not is_type(v, s["type"]):
        return out + ["%s: not %s" % (path, s["type"])]
    if "const" in s and (v != s["const"] or type(v) is not type(s["const"])):
        out.append("%s: not %r" % (path, s["const"]))
    if "enum" in s and v not in s["enum"]:
        out.append("%s: not one of %s" % (path, s["enum"]))
    if "anyOf" in s and all(errors(v, sub, path) for sub in s["anyOf"]):
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
                out += errors(inner, s["contentSchema"], path + "<payload>")
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
                out += errors(x, s["items"], "%s[%d]" % (path, i))
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
                out += errors(x, props[k], path + "." + k)
            elif s.get("additionalProperties") is False:
                out.append("%s: unknown member %s" % (path, k))
    return out


def main():
    n = failed = 0

    def report(good, name):
        nonlocal n, failed
        n += 1
        failed += not good
        print("%sok %d - %s" % ("" if good else "not ", n, name))

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
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
