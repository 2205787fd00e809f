// acquisition.js - drive the REAL `code-push` AcquisitionManager (the
// acquisition SDK inside react-native-code-push 9) against a HotPatch edge,
// through a small HTTP requester of our own (what react-native-code-push's
// request-fetch-adapter.js is on a device: same verbs, same headers).
//
//   node acquisition.js MODULE_DIR SERVER_URL DEPLOYMENT_KEY CLIENT_ID APP_VERSION OP [JSON]
//
// OP: check    JSON = the current package {appVersion, packageHash, label} (default: {appVersion})
//     deploy   JSON = {package: {label, appVersion} | null, status, previous}
//     download JSON = {label}
// Prints one line of JSON: {"error": "<message>" | null, "result": <what the SDK called back with>}.
"use strict";
const http = require("http");
const path = require("path");

const [moduleDir, serverUrl, deploymentKey, clientUniqueId, appVersion, op, arg] = process.argv.slice(2);
const { AcquisitionManager, AcquisitionStatus } = require(path.join(moduleDir, "node_modules/code-push/script/acquisition-sdk"));

const VERBS = ["GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"];

// The SDK's Http.Requester: request(verb, url, [body], callback(err, {statusCode, body})).
const requester = {
    request(verb, url, requestBody, callback) {
        if (typeof requestBody === "function") {
            callback = requestBody;
            requestBody = null;
        }
        const headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "X-CodePush-Plugin-Name": "react-native-code-push",
            "X-CodePush-Plugin-Version": "9.0.1",
            "X-CodePush-SDK-Version": "4.2.3",
        };
        // a device's fetch() sends a string body with its Content-Length (never chunked)
        const payload = requestBody ? (typeof requestBody === "string" ? requestBody : JSON.stringify(requestBody)) : null;
        if (payload !== null) headers["Content-Length"] = Buffer.byteLength(payload);
        const req = http.request(url, { method: VERBS[verb], headers }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c) => (body += c));
            res.on("end", () => callback(null, { statusCode: res.statusCode, body }));
        });
        req.on("error", (e) => callback(e));
        if (payload !== null) req.write(payload);
        req.end();
    },
};

const sdk = new AcquisitionManager(requester, { serverUrl, deploymentKey, clientUniqueId, appVersion });
const done = (err, result) => {
    process.stdout.write(JSON.stringify({ error: err ? String(err.message || err) : null, result: result === undefined ? null : result }) + "\n");
};
const a = arg && op !== "hashdir" ? JSON.parse(arg) : {};

if (op === "check") {
    sdk.queryUpdateWithCurrentPackage(Object.keys(a).length ? a : { appVersion }, done);
} else if (op === "deploy") {
    const status = a.status === "failed" ? AcquisitionStatus.DeploymentFailed : AcquisitionStatus.DeploymentSucceeded;
    sdk.reportStatusDeploy(a.package || null, a.package ? status : undefined, a.previous || undefined, undefined, done);
} else if (op === "download") {
    sdk.reportStatusDownload({ label: a.label }, done);
} else if (op !== "hashdir") {
    done(new Error("unknown op " + op));
    process.exitCode = 2;
}

// An independent reading of react-native-code-push's package hash
// (CodePushUpdateUtils.verifyFolderHash, Java): used by `hashdir DIR`.
function hashDir(dir) {
    const fs = require("fs");
    const crypto = require("crypto");
    const entries = [];
    const walk = (abs, rel) => {
        for (const name of fs.readdirSync(abs)) {
            const r = rel ? rel + "/" + name : name;
            if (r.startsWith("__MACOSX/") || name === ".DS_Store" || name === ".codepushrelease") continue;
            const p = path.join(abs, name);
            if (fs.statSync(p).isDirectory()) walk(p, r);
            else entries.push(r + ":" + crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex"));
        }
    };
    walk(dir, "");
    entries.sort();
    return crypto.createHash("sha256").update(JSON.stringify(entries)).digest("hex");
}
if (op === "hashdir") done(null, hashDir(arg));
