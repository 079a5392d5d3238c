#!/usr/bin/env python3
"""A minimal Marionette client for the Firefox cookbook test (tests/cookbook/firefox.sh).

It plays the user's part: typing the token PIN when Firefox asks for it and opening a page.
Firefox, started with --marionette, listens on 127.0.0.1:PORT (pref marionette.port).

  marionette.py PORT TOKEN PIN-FILE URL OUTFILE

Answers Firefox's "Password Required" prompt for the PKCS#11 token named TOKEN with the PIN
from PIN-FILE (as a user would type it), opens URL and writes the page's text to OUTFILE. Exit status 0 when every step worked."""
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


# Stands in for the user at Firefox's "Password Required" dialog: the prompt service's
# promptPassword (what PSM calls when NSS needs the token's PIN) answers with the PIN for a
# prompt that names the token, and defers everything else to Firefox's own prompter.
ANSWER_PIN = """
const [name, pin] = arguments;
const CONTRACT = "@mozilla.org/prompter;1";
const registrar = Components.manager.QueryInterface(Ci.nsIComponentRegistrar);
const original = Cc[CONTRACT].getService(Ci.nsIPromptService);
const answered = [];
const calls = [];
globalThis.cratonCalls = calls;
const stub = {
  QueryInterface: ChromeUtils.generateQI(["nsIPromptService", "nsIPromptFactory"]),
  // nsIPromptFactory: the nsIPrompt that PSM asks for the PIN (through the window watcher).
  getPrompt(win, iid) {
    const inner = original.QueryInterface(Ci.nsIPromptFactory).getPrompt(win, Ci.nsIPrompt);
    const wrapper = {
      QueryInterface: ChromeUtils.generateQI(["nsIPrompt"]),
      promptPassword(title, text, password, checkMsg, checkState) {
        if (String(text).includes(name)) {
          answered.push(text);
          password.value = pin;
          return true;
        }
        return inner.promptPassword(title, text, password, checkMsg, checkState);
      },
    };
    return new Proxy(wrapper, {
      get(target, prop) {
        calls.push("prompt." + String(prop));
        if (prop in target) return target[prop];
        const v = inner[prop];
        return typeof v === "function" ? v.bind(inner) : v;
      },
    }).QueryInterface(iid);
  },
  promptPassword(parent, title, text, password, checkMsg, checkState) {
    if (String(text).includes(name)) {
      answered.push(text);
      password.value = pin;
      return true;
    }
    return original.promptPassword(parent, title, text, password, checkMsg, checkState);
  },
};
const proxy = new Proxy(stub, {
  get(target, prop) {
    calls.push(String(prop));
    if (prop in target) return target[prop];
    const v = original[prop];
    return typeof v === "function" ? v.bind(original) : v;
  },
});
const cid = Services.uuid.generateUUID();
registrar.registerFactory(cid, "craton test prompter", CONTRACT, {
  createInstance(iid) { return proxy.QueryInterface(iid); },
  QueryInterface: ChromeUtils.generateQI(["nsIFactory"]),
});
globalThis.cratonAnswered = answered;
return "prompter installed";
"""
ANSWERED = "return (globalThis.cratonAnswered || []).join(' | ') + ' (prompter calls: ' + (globalThis.cratonCalls || []).join(',') + ')';"

# Logs in to the token the way Firefox's Security Devices dialog's "Log In" button does
# (nsIPKCS11Token.login, which asks for the PIN through the prompter).
LOGIN = """
const [name] = arguments;
const moduledb = Cc["@mozilla.org/security/pkcs11moduledb;1"].getService(Ci.nsIPKCS11ModuleDB);
for (const module of await moduledb.listModules()) {
  const mod = module.QueryInterface(Ci.nsIPKCS11Module);
  for (let slot of mod.slots) {
    let token = slot.QueryInterface(Ci.nsIPKCS11Slot).getToken();
    if (token && token.tokenName === name) {
      token.login(false);
      return token.isLoggedIn ? "logged in" : "not logged in";
    }
  }
}
return "no token " + name;
"""


def main():
    port, token, pinfile, url, out = sys.argv[1:6]
    with open(pinfile) as f:
        pin = f.readline().rstrip("\n")
    m = Marionette(int(port))
    m.cmd("WebDriver:NewSession", {"capabilities": {"acceptInsecureCerts": False}})
    m.cmd("Marionette:SetContext", {"value": "chrome"})
    res = m.cmd("WebDriver:ExecuteScript", {"script": ANSWER_PIN, "args": [token, pin]})
    print("PIN dialog:", res["value"])
    if len(sys.argv) > 6 and sys.argv[6] == "--login-first":
        res = m.cmd("WebDriver:ExecuteScript", {"script": "return (async () => {" + LOGIN + "})();", "args": [token]})
        print("token login:", res["value"])
    m.cmd("Marionette:SetContext", {"value": "content"})
    failed = None
    try:
        m.cmd("WebDriver:Navigate", {"url": url})
    except RuntimeError as e:
        failed = e
    if failed:
        m.cmd("Marionette:SetContext", {"value": "chrome"})
        res = m.cmd("WebDriver:ExecuteScript", {"script": ANSWERED, "args": []})
        print("PIN prompts answered:", res["value"] or "none")
        print(failed)
        return 1
    text = m.cmd("WebDriver:ExecuteScript",
                 {"script": "return document.documentElement.textContent;", "args": []})
    with open(out, "w") as f:
        f.write(text["value"] or "")
    print("page:", (text["value"] or "")[:200].replace("\n", " "))
    m.cmd("Marionette:SetContext", {"value": "chrome"})
    res = m.cmd("WebDriver:ExecuteScript", {"script": ANSWERED, "args": []})
    print("PIN prompts answered:", res["value"] or "none")
    try:
        m.cmd("Marionette:Quit", {"flags": ["eForceQuit"]})
    except (EOFError, OSError, RuntimeError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
