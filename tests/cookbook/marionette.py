#!/usr/bin/env python3
"""A minimal Marionette client for the Firefox cookbook test (tests/cookbook/firefox.sh).

It plays the user's part: typing the token PIN when Firefox asks for it and opening a page.
Firefox, started with --marionette (and -remote-allow-system-access, so that a script may
run in its chrome), listens on 127.0.0.1:PORT (pref marionette.port).

  marionette.py PORT TOKEN PIN-FILE URL OUTFILE

Answers Firefox's "Password Required" prompt for the PKCS#11 token named TOKEN with the PIN
from PIN-FILE (as a user would type it), opens URL and writes the page's text to OUTFILE.
Prints the prompts it answered and whether the token is logged in afterwards. Exit status 0
when every step worked."""
import json
import socket
import sys
import time


class Marionette:
    def __init__(self, port, timeout=60):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.msgid = 0
        self.read()  # the server's hello

    def read(self):
        while b":" not in self.buf:
            self.buf += self._recv()
        n, rest = self.buf.split(b":", 1)
        n = int(n)
        while len(rest) < n:
            rest += self._recv()
        self.buf = rest[n:]
        return json.loads(rest[:n])

    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("marionette closed the connection")
        return data

    def cmd(self, name, params=None):
        self.msgid += 1
        msg = json.dumps([0, self.msgid, name, params or {}]).encode()
        self.sock.sendall(str(len(msg)).encode() + b":" + msg)
        while True:
            reply = self.read()
            if reply[0] == 1 and reply[1] == self.msgid:
                if reply[2]:
                    raise RuntimeError("%s: %s" % (name, reply[2]))
                return reply[3]

    def chrome(self, script, *args):
        """Runs SCRIPT (the body of an async function) in Firefox's chrome; its result."""
        self.cmd("Marionette:SetContext", {"value": "chrome"})
        try:
            res = self.cmd("WebDriver:ExecuteScript",
                           {"script": "return (async () => {" + script + "})();", "args": list(args)})
        finally:
            self.cmd("Marionette:SetContext", {"value": "content"})
        return res["value"]


# Stands in for the user at Firefox's "Password Required" dialog. When NSS needs a token's PIN
# (here: when the server asks for a client certificate and Firefox looks for the key that goes
# with it), PSM's password callback asks the window watcher for a prompter and calls its
# promptPassword. Registering a window watcher of our own under the same contract ID (what
# Mozilla's own PSM tests do) puts this prompt in front of the user's: it answers with the PIN
# for a prompt that names the token and leaves everything else to Firefox's own window watcher
# and prompter. The prompts answered go to the pref craton.test.pin_prompts.
ANSWER_PIN = """
const [name, pin] = arguments;
const CONTRACT = "@mozilla.org/embedcomp/window-watcher;1";
const registrar = Components.manager.QueryInterface(Ci.nsIComponentRegistrar);
const original = Cc[CONTRACT].getService(Ci.nsIWindowWatcher);
const PREF = "craton.test.pin_prompts";
Services.prefs.setStringPref(PREF, "");
function wrap(parent) {
  let real = null;  // Firefox's own prompter, fetched only when a prompt is not ours
  const inner = () => real || (real = original.getNewPrompter(parent));
  return new Proxy({
    QueryInterface: ChromeUtils.generateQI(["nsIPrompt"]),
    promptPassword(title, text, password, checkMsg, checkState) {
      if (String(text).includes(name)) {
        const seen = Services.prefs.getStringPref(PREF, "");
        Services.prefs.setStringPref(PREF, (seen ? seen + " | " : "") + text);
        password.value = pin;
        return true;
      }
      return inner().promptPassword(title, text, password, checkMsg, checkState);
    },
  }, {
    get(target, prop) {
      if (prop in target) return target[prop];
      const v = inner()[prop];
      return typeof v === "function" ? v.bind(inner()) : v;
    },
  });
}
const watcher = new Proxy({
  QueryInterface: ChromeUtils.generateQI(["nsIWindowWatcher"]),
  getNewPrompter(parent) { return wrap(parent); },
}, {
  get(target, prop) {
    if (prop in target) return target[prop];
    const v = original[prop];
    return typeof v === "function" ? v.bind(original) : v;
  },
});
registrar.registerFactory(Services.uuid.generateUUID(), "craton test: PIN prompt", CONTRACT, {
  createInstance(iid) { return watcher.QueryInterface(iid); },
  QueryInterface: ChromeUtils.generateQI(["nsIFactory"]),
});
return "installed";
"""

# The prompts answered, and the token's login state (Settings -> Security Devices shows it).
REPORT = """
const [name] = arguments;
const answered = Services.prefs.getStringPref("craton.test.pin_prompts", "") || "none";
const moduledb = Cc["@mozilla.org/security/pkcs11moduledb;1"].getService(Ci.nsIPKCS11ModuleDB);
let state = "no token " + name;
for (const module of await moduledb.listModules()) {
  for (const slot of module.QueryInterface(Ci.nsIPKCS11Module).slots) {
    const token = slot.QueryInterface(Ci.nsIPKCS11Slot).getToken();
    if (token && token.tokenName === name) {
      state = "token " + name + (token.isLoggedIn ? " logged in" : " not logged in");
    }
  }
}
return "PIN prompts answered: " + answered + "\\n" + state;
"""


def main():
    port, token, pinfile, url, out = sys.argv[1:6]
    with open(pinfile) as f:
        pin = f.readline().rstrip("\n")
    m = Marionette(int(port))
    m.cmd("WebDriver:NewSession", {"capabilities": {"acceptInsecureCerts": False}})
    print("PIN dialog stand-in:", m.chrome(ANSWER_PIN, token, pin))
    failed = None
    try:
        m.cmd("WebDriver:Navigate", {"url": url})
    except RuntimeError as e:
        failed = e
    if not failed:
        text = m.cmd("WebDriver:ExecuteScript",
                     {"script": "return document.documentElement.textContent;", "args": []})
        with open(out, "w") as f:
            f.write(text["value"] or "")
        print("page:", (text["value"] or "")[:200].replace("\n", " "))
    print(m.chrome(REPORT, token))
    if failed:
        print(failed)
        return 1
    try:
        m.cmd("Marionette:Quit", {"flags": ["eForceQuit"]})
    except (EOFError, OSError, RuntimeError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
