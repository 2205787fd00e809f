#!/usr/bin/python3
"""browser_test.py - the dashboard in a real browser (headless Chromium from
Debian, driven by python3-selenium) against a real hotpatch-publisher,
Postgres (HP_TEST_PG_URL), file:// storage and hotpatch-edge, all on loopback.

Checks: sign in; the rollout slider (moved with the keyboard) re-signs the
stored manifest with a higher sequence and rollout_bp 2500, and the edge offers
the release to a device inside the new 25% cohort but not to one outside it;
halting from the page makes the edge stop offering it; a read-only user sees no
action buttons and a request forged with their session is refused; release
notes holding HTML are shown as inert text; a cross-origin form post is
refused; every page at 360 px wide. Screenshots of each page go to
$HP_LOG_DIR/dashboard/ for a person to look at (nothing is compared pixel by
pixel). Prints TAP.

Run through tests/integration/dashboard/browser.sh (make test).
"""
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

SRC = os.environ.get("HP_SRC_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
BIN = os.environ.get("HP_BIN", os.path.join(SRC, "build/bin"))
OUT = os.path.join(os.environ.get("HP_LOG_DIR", os.path.join(SRC, "build/test-logs")), "dashboard")
PG = os.environ.get("HP_TEST_PG_URL")
OWNER = ("owner@example.com", "correct horse battery")
VIEWER = ("viewer@example.com", "read only person 1")
XSS_NOTES = 'Fixes login. <img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script>'

n_tests = 0
n_failed = 0
procs = []


def ok(cond, name, detail=None):
    global n_tests, n_failed
    n_tests += 1
    if not cond:
        n_failed += 1
    print(f"{'ok' if cond else 'not ok'} {n_tests} - {name}", flush=True)
    if not cond and detail is not None:
        for line in str(detail).splitlines()[:20]:
            print(f"#   {line}", flush=True)
    return cond


def diag(msg):
    print(f"# {msg}", flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(*args, env=None, check=True):
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    return r


def call(method, url, body=None, token=None, headers=None):
    data = None
    h = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    if token:
        h["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, dict(r.headers), (json.loads(raw) if raw and raw[:1] in b"{[" else raw)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, dict(e.headers), json.loads(raw)
        except ValueError:
            return e.code, dict(e.headers), raw


def wait_http(url, secs=20):
    for _ in range(secs * 10):
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return True
        except Exception:
            pass
        time.sleep(0.1)
    return False


def fnv1a32(s):
    h = 0x811C9DC5
    for b in s.encode():
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def bucket(release_id, device):
    return fnv1a32(f"{release_id}:{device}") % 10000


class World:
    pass


def setup(w):
    w.tmp = tempfile.mkdtemp(prefix="hp-dash-")
    os.chmod(w.tmp, 0o755)
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".png"):
            os.remove(os.path.join(OUT, f))
    w.storage = os.path.join(w.tmp, "storage")
    os.makedirs(w.storage)
    db = f"hp_dash_{os.getpid()}"
    run("psql", "-qAt", PG, "-c", f"CREATE DATABASE {db}")
    w.dburl = PG.rsplit("/", 1)[0] + "/" + db
    mk = json.loads(run(f"{BIN}/hotpatch-publisher", "keygen-manifest", "--out", f"{w.tmp}/manifest.key", "--json").stdout)
    w.manifest_pub = mk["public_key"]
    rk = json.loads(run(f"{BIN}/hotpatch", "--json", "keygen", "--out", f"{w.tmp}/release.key").stdout)
    w.release_pub = rk["public_key"]
    w.sync_token = "dashboard-test-sync-token"
    w.edge_port, w.pub_port = free_port(), free_port()
    w.edge = f"http://127.0.0.1:{w.edge_port}"
    w.pub = f"http://127.0.0.1:{w.pub_port}"
    env = dict(os.environ, HOTPATCH_SYNC_TOKEN=w.sync_token)
    edge_log = open(os.path.join(OUT, "edge.log"), "w")
    procs.append(subprocess.Popen([f"{BIN}/hotpatch-edge", "--listen", f"127.0.0.1:{w.edge_port}", "--data-dir",
                                   f"{w.tmp}/edge", "--source", f"file://{w.storage}", "--trusted-key", w.manifest_pub,
                                   "--poll-interval", "1", "--threads", "1"], env=env, stdout=edge_log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
    penv = dict(os.environ, DATABASE_URL=w.dburl, HOTPATCH_STORAGE=f"file://{w.storage}",
                JWT_SECRET="a-dashboard-test-secret-of-more-than-32-bytes", HOTPATCH_MANIFEST_KEY=f"{w.tmp}/manifest.key",
                HOTPATCH_LISTEN=f"127.0.0.1:{w.pub_port}", HOTPATCH_EDGE_URLS=w.edge, HOTPATCH_SYNC_TOKEN=w.sync_token,
                HOTPATCH_LOG_LEVEL="info")
    pub_log = open(os.path.join(OUT, "publisher.log"), "w")
    procs.append(subprocess.Popen([f"{BIN}/hotpatch-publisher"], env=penv, stdout=pub_log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL))
    if not (wait_http(f"{w.pub}/healthz") and wait_http(f"{w.edge}/healthz")):
        raise RuntimeError("publisher or edge did not come up (see the logs in %s)" % OUT)
    st, _, b = call("POST", f"{w.pub}/v1/bootstrap", {"org": "acme", "email": OWNER[0], "password": OWNER[1]})
    assert st == 201, b
    w.owner_key = b["api_key"]
    st, _, b = call("POST", f"{w.pub}/v1/apps", {"name": "demo"}, w.owner_key)
    assert st == 201, b
    st, _, b = call("POST", f"{w.pub}/v1/apps/demo/keys", {"public_key": w.release_pub, "name": "ci"}, w.owner_key)
    assert st == 201, b
    st, _, b = call("POST", f"{w.pub}/v1/users", {"email": VIEWER[0], "password": VIEWER[1], "role": "read"}, w.owner_key)
    assert st == 201, b
    bdir = f"{w.tmp}/bundle"
    os.makedirs(bdir)
    w.rel = {}
    for version, rollout, notes in (("1.0.0", "100", "First release."), ("1.0.1", "10", XSS_NOTES)):
        with open(f"{bdir}/index.android.bundle", "w") as f:
            f.write(f"console.log('demo {version}');\n")
        r = run(f"{BIN}/hotpatch", "--json", "--quiet", "release", "--app", "demo", "--platform", "android", "--version",
                version, "--target-binary", ">=1.0.0 <2.0.0", "--rollout", rollout, "--notes", notes, "--bundle-dir",
                bdir, "--endpoint", w.pub, "--token", w.owner_key, "--signing-key", f"{w.tmp}/release.key")
        w.rel[version] = json.loads(r.stdout)["release"]["id"]
    # devices reporting: 12 run 1.0.0, 3 of them moved on to 1.0.1, one of those failed, one rolled back
    devs = [f"dev-{i:02d}" for i in range(12)]
    call("POST", f"{w.pub}/v1/devices", {"devices": [{"device_id": d, "app": "demo", "platform": "android",
                                                     "binary_version": "1.0.0", "os": "android 14"} for d in devs]})
    now = int(time.time())
    ev = []

    def add(d, rel, status, ago):
        ev.append({"event_id": f"{d}-{rel}-{status}", "device_id": d, "app": "demo", "platform": "android",
                   "channel": "production", "release_id": w.rel[rel], "status": status, "binary_version": "1.0.0",
                   "ts": now - ago})

    for i, d in enumerate(devs):
        add(d, "1.0.0", "applied", 3600 * (20 - i))
    add("dev-00", "1.0.1", "applied", 3600 * 5)
    add("dev-01", "1.0.1", "applied", 3600 * 4)
    add("dev-02", "1.0.1", "failed", 3600 * 3)
    add("dev-01", "1.0.1", "rolled_back", 3600 * 2)
    st, _, b = call("POST", f"{w.pub}/v1/installations", {"events": ev})
    assert st == 200 and b["accepted"] == len(ev), b


def stored_manifest(w):
    r = run(f"{BIN}/hotpatch", "--json", "manifest", "show", "--storage", f"file://{w.storage}", "--trusted-key",
            w.manifest_pub, "--app", "demo", "--platform", "android", "--channel", "production")
    return json.loads(r.stdout)


def manifest_entry(m, rid):
    doc = m.get("manifest", m)
    for rel in doc.get("releases", []):
        if rel.get("id") == rid:
            return rel
    return None


def manifest_seq(m):
    return m.get("manifest", m).get("sequence")


def edge_offer(w, device, installed):
    url = (f"{w.edge}/v1/check?app=demo&platform=android&channel=production&binary_version=1.0.0"
           f"&device={device}&release={installed}")
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers.get("X-HotPatch-Release")
    except urllib.error.HTTPError as e:
        return e.code, None


def wait_edge(w, device, installed, want, secs=15):
    got = None
    for _ in range(secs * 5):
        got = edge_offer(w, device, installed)
        if got == want:
            return got
        time.sleep(0.2)
    return got


def browser():
    o = Options()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
              "--no-first-run", "--disable-extensions"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


def shot(d, name):
    path = os.path.join(OUT, f"{name}.png")
    d.execute_script("window.scrollTo(0, 0)")
    # the whole page, not just the viewport
    h = d.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    size = d.get_window_size()
    d.set_window_size(size["width"], min(max(h + 40, 500), 6000))
    time.sleep(0.2)
    d.save_screenshot(path)
    d.set_window_size(size["width"], size["height"])
    return path


def wait_css(d, css, secs=15):
    return WebDriverWait(d, secs).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))


def wait_text(d, text, secs=15):
    WebDriverWait(d, secs).until(lambda x: text in x.find_element(By.TAG_NAME, "body").text)


def sign_in(d, w, who):
    d.get(f"{w.pub}/")
    wait_css(d, "#email").send_keys(who[0])
    d.find_element(By.ID, "password").send_keys(who[1] + Keys.ENTER)
    wait_text(d, "Your apps")


def sign_out(d):
    d.find_element(By.XPATH, "//button[normalize-space()='Sign out']").click()
    wait_css(d, "#email")


def confirm(d, label):
    dlg = wait_css(d, "dialog[open]")
    dlg.find_element(By.XPATH, f".//button[normalize-space()='{label}']").click()


def main():
    if not PG:
        print("1..0 # SKIP HP_TEST_PG_URL not set (run through make test)")
        return 0
    w = World()
    try:
        setup(w)
    except Exception as e:
        ok(False, "publisher, edge, app, users and two releases set up", e)
        return 1
    ok(True, "publisher, edge, app, users and two releases set up")
    rid = w.rel["1.0.1"]
    d = browser()
    try:
        scenario(d, w, rid)
    except Exception as e:
        ok(False, "the browser scenario ran to the end", f"{type(e).__name__}: {e}")
        try:
            shot(d, "zz-failure")
        except Exception:
            pass
    finally:
        logs = []
        try:
            logs = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]
        except Exception:
            pass
        d.quit()
    # a CSP violation or script error on our own pages would show here (the forged requests' 403s are expected)
    expected = ("hp-evil", "status of 403", "status of 401", "no-such-device")
    unexpected = [e["message"] for e in logs if not any(x in e["message"] for x in expected)]
    ok(not unexpected, "no unexpected errors in the browser console", "\n".join(unexpected))
    print(f"1..{n_tests}")
    diag(f"screenshots in {OUT}")
    return 1 if n_failed else 0


def scenario(d, w, rid):
    pub = w.pub
    # ---- sign-in ----
    d.get(f"{pub}/")
    wait_css(d, "#email")
    shot(d, "01-sign-in")
    d.find_element(By.ID, "email").send_keys(OWNER[0])
    d.find_element(By.ID, "password").send_keys("not the password" + Keys.ENTER)
    wait_text(d, "do not match an account")
    ok(True, "a wrong password is answered with a sentence, not a code")
    pw = d.find_element(By.ID, "password")
    pw.clear()
    pw.send_keys(OWNER[1] + Keys.ENTER)
    wait_text(d, "Your apps")
    ok("demo" in d.find_element(By.TAG_NAME, "main").text, "signed in: the apps page lists app demo")
    cookie = d.get_cookie("hp_session")
    ok(cookie and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict",
       "the session cookie is HttpOnly and SameSite=Strict", cookie)
    ok(d.execute_script("return document.cookie.indexOf('hp_session') < 0"), "scripts cannot read the session cookie")
    shot(d, "02-apps")

    # ---- app page: channels and releases ----
    d.find_element(By.LINK_TEXT, "demo").click()
    wait_text(d, "Manifest sequence")
    main = d.find_element(By.TAG_NAME, "main").text
    ok("1.0.1" in main and "1.0.0" in main and ">=1.0.0 <2.0.0" in main, "the release table lists both releases")
    ok("10%" in main and "100%" in main, "the release table shows rollout percentages")
    shot(d, "03-app-releases")

    # ---- release page: inert notes ----
    d.get(f"{pub}/#/apps/demo/releases/{rid}")
    wait_css(d, "#apply-rollout")
    wait_css(d, "figure.chart svg")
    notes = d.find_element(By.CSS_SELECTOR, "p.notes")
    ok(notes.text == XSS_NOTES, "the release note is shown as the literal text", notes.text)
    ok(not d.find_elements(By.CSS_SELECTOR, "main img, main script"), "the note's <img> and <script> did not become elements")
    ok(d.execute_script("return window.__pwned === undefined"), "the note's onerror / script never ran")
    labels = d.find_element(By.CSS_SELECTOR, ".charts").text
    ok("Distinct devices" in labels and "last 48 hours" in labels, "each chart says what it counts and over which window")
    shot(d, "04-release")
    d.find_element(By.XPATH, "//button[normalize-space()='Last 30 days']").click()
    WebDriverWait(d, 15).until(lambda x: "last 30 days, by day" in x.find_element(By.CSS_SELECTOR, ".charts").text)
    pressed = d.find_element(By.XPATH, "//button[normalize-space()='Last 30 days']").get_attribute("aria-pressed")
    ok(pressed == "true", "the 30-day window redraws the charts by day and says so")
    shot(d, "04b-release-30-days")

    # ---- rollout slider to 25 % with the keyboard ----
    before = stored_manifest(w)
    seq0 = manifest_seq(before)
    inside = next(f"d{i}" for i in range(100000) if 1000 <= bucket(rid, f"d{i}") < 2500)
    outside = next(f"d{i}" for i in range(100000) if bucket(rid, f"d{i}") >= 2500)
    base = w.rel["1.0.0"]
    ok(edge_offer(w, inside, base)[0] == 204, "before: the edge offers nothing to a device outside the 10% cohort")
    slider = d.find_element(By.ID, "rollout")
    slider.click()
    cur = int(slider.get_attribute("value"))
    for _ in range(abs(25 - cur)):
        slider.send_keys(Keys.ARROW_RIGHT if cur < 25 else Keys.ARROW_LEFT)
    ok(d.find_element(By.ID, "rollout-value").text == "25%", "the slider reads 25%",
       d.find_element(By.ID, "rollout-value").text)
    d.find_element(By.ID, "apply-rollout").click()
    wait_css(d, "dialog[open]")
    shot(d, "05-confirm-rollout")
    confirm(d, "Set rollout to 25%")
    wait_text(d, "is now 25%")
    after = stored_manifest(w)
    entry = manifest_entry(after, rid)
    ok(manifest_seq(after) > seq0, f"the stored manifest was re-signed with a higher sequence ({seq0} -> {manifest_seq(after)})")
    ok(entry and entry.get("rollout_bp") == 2500, "the stored, verified manifest has rollout_bp 2500", entry)
    got = wait_edge(w, inside, base, (200, rid))
    ok(got == (200, rid), f"the edge now offers {rid} to a device in the 25% cohort", got)
    ok(edge_offer(w, outside, base)[0] == 204, "the edge offers nothing to a device outside the 25% cohort")
    shot(d, "06-release-25pct")
    # one viewport-sized picture of the release page (docs/dashboard.png is a copy of it)
    d.set_window_size(1100, 900)
    d.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)
    d.save_screenshot(os.path.join(OUT, "00-readme.png"))
    d.set_window_size(1280, 900)

    # ---- the confirmation is a real modal: Escape cancels and nothing changes ----
    halt = d.find_element(By.CSS_SELECTOR, "button[data-action=halt]")
    halt.send_keys(Keys.ENTER)
    wait_css(d, "dialog[open]")
    focused = d.execute_script("return document.activeElement.textContent")
    ok(focused == "Cancel", f"a destructive confirmation opens with Cancel focused ({focused})")
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    WebDriverWait(d, 5).until(lambda x: not x.find_elements(By.CSS_SELECTOR, "dialog[open]"))
    st, _, b = call("GET", f"{pub}/v1/releases/{rid}", token=w.owner_key)
    ok(b["release"]["state"] == "active", "Escape cancelled the halt", b["release"]["state"])

    # ---- halt ----
    d.find_element(By.CSS_SELECTOR, "button[data-action=halt]").click()
    confirm(d, "Halt release")
    wait_text(d, "is halted")
    entry = manifest_entry(stored_manifest(w), rid)
    ok(entry and entry.get("state") == "halted", "the stored manifest marks the release halted", entry)
    got = wait_edge(w, inside, base, (204, None))
    ok(got == (204, None), "the edge stops offering the halted release", got)
    ok(d.find_elements(By.CSS_SELECTOR, "button[data-action=resume]"), "a halted release offers Resume")
    shot(d, "07-release-halted")

    # ---- the other pages ----
    d.get(f"{pub}/#/apps/demo/devices?id=dev-01")
    wait_text(d, "Report history")
    main = d.find_element(By.TAG_NAME, "main").text
    ok("rolled_back" in main and "1.0.0 (production)" in main, "device lookup: dev-01 rolled back to 1.0.0", main[:400])
    shot(d, "08-device")
    d.get(f"{pub}/#/apps/demo/devices?id=no-such-device")
    wait_text(d, "has reported to demo")
    shot(d, "09-device-unknown")
    d.get(f"{pub}/#/apps/demo/audit")
    wait_text(d, "release.")
    ok("user:" in d.find_element(By.TAG_NAME, "main").text, "the audit log names the signed-in user as the actor")
    shot(d, "10-audit")
    d.get(f"{pub}/#/apps/demo/keys")
    wait_text(d, "Create an API key")
    d.find_element(By.ID, "ak-name").send_keys("dashboard test" + Keys.ENTER)
    key = wait_css(d, "#new-api-key").text
    ok(key.startswith("hp_"), "an admin creates an API key and sees it once")
    st, _, _ = call("GET", f"{pub}/v1/apps/demo", token=key)
    ok(st == 200, "the new API key works")
    shot(d, "11-keys")

    # ---- cross-origin form post (same site, other port: the SameSite cookie IS sent; Origin refuses it) ----
    evil_dir = os.path.join(w.tmp, "evil")
    os.makedirs(evil_dir)
    with open(os.path.join(evil_dir, "hp-evil.html"), "w") as f:
        f.write(f"""<!doctype html><title>evil</title>
<form id=f method=POST action="{pub}/v1/releases/{rid}/resume" enctype="text/plain">
<input type=hidden name='{{"a":"' value='b"}}'></form>
<script>document.getElementById('f').submit()</script>""")
    port = free_port()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = lambda *a, **k: Quiet(*a, directory=evil_dir, **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        d.get(f"http://127.0.0.1:{port}/hp-evil.html")
        WebDriverWait(d, 15).until(lambda x: x.current_url.startswith(pub))
        time.sleep(0.5)
        body = d.find_element(By.TAG_NAME, "body").text
        ok("cross_origin" in body, "a cross-origin form post is refused (403 cross_origin)", body[:300])
    finally:
        httpd.shutdown()
    st, _, b = call("GET", f"{pub}/v1/releases/{rid}", token=w.owner_key)
    ok(b["release"]["state"] == "halted", "the forged resume changed nothing", b)

    # ---- 360 px wide ----
    d.set_window_size(360, 800)
    d.get(f"{pub}/#/apps/demo")
    wait_text(d, "Manifest sequence")
    overflow = d.execute_script("return document.documentElement.scrollWidth")
    ok(overflow <= 360, f"the app page fits 360 px (scroll width {overflow}; wide tables scroll in their own box)")
    shot(d, "12-app-360px")
    d.get(f"{pub}/#/apps/demo/releases/{rid}")
    wait_css(d, "figure.chart svg")
    overflow = d.execute_script("return document.documentElement.scrollWidth")
    ok(overflow <= 360, f"the release page fits 360 px (scroll width {overflow})")
    shot(d, "13-release-360px")
    d.set_window_size(1280, 900)

    # ---- keyboard focus is visible ----
    d.get(f"{pub}/#/apps/demo")
    wait_text(d, "Manifest sequence")
    d.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    outline = d.execute_script("const e = document.activeElement; return getComputedStyle(e).outlineStyle")
    ok(outline not in ("none", ""), f"the focused element has a visible outline ({outline})")

    # ---- sign out; read-only user ----
    sign_out(d)
    st = d.execute_async_script("""const done = arguments[arguments.length - 1];
        fetch('/v1/apps', {credentials: 'same-origin'}).then(r => done(r.status));""")
    ok(st == 401, "after sign-out the old session is refused", st)
    sign_in(d, w, VIEWER)
    d.get(f"{pub}/#/apps/demo/releases/{rid}")
    wait_text(d, "you can look")
    ok(not d.find_elements(By.CSS_SELECTOR, "button[data-action], #apply-rollout, #rollout, .promote"),
       "a read-only user sees no action buttons and no slider")
    shot(d, "14-release-read-only")
    d.get(f"{pub}/#/apps/demo/keys")
    wait_text(d, "Only admins")
    ok(not d.find_elements(By.CSS_SELECTOR, "main button"), "a read-only user gets no key buttons")
    shot(d, "15-keys-read-only")
    forged = d.execute_async_script("""const done = arguments[arguments.length - 1];
        fetch('/v1/session').then(r => r.json()).then(s => fetch('/v1/releases/%s/resume', {method: 'POST',
          credentials: 'same-origin', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token},
          body: '{}'})).then(r => r.json().then(b => done([r.status, b.error && b.error.code])));""" % rid)
    ok(forged == [403, "forbidden"], "a read-only user's forged resume (valid session + CSRF token) is refused 403", forged)
    nocsrf = d.execute_async_script("""const done = arguments[arguments.length - 1];
        fetch('/v1/session', {method: 'DELETE', credentials: 'same-origin'}).then(r => r.json().then(b =>
          done([r.status, b.error && b.error.code])));""")
    ok(nocsrf == [403, "csrf"], "a state change without the CSRF token is refused", nocsrf)
    st, _, b = call("GET", f"{pub}/v1/releases/{rid}", token=w.owner_key)
    ok(b["release"]["state"] == "halted", "the release is still halted", b)


if __name__ == "__main__":
    rc = 1
    try:
        rc = main()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    sys.exit(rc)
