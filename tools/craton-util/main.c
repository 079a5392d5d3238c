/* craton-util: the operator's tool for Craton tokens. Command table, option parsing, help. */
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const struct command commands[] = {
    { "init-token", "module label pin-file",
      "init-token --label LABEL [--pin-file FILE]",
      "Initialises a new token in the free slot and prints its slot ID. The new SO PIN comes\n"
      "from --pin-file, else CRATON_SO_PIN, else a prompt (asked twice). A label that another\n"
      "token already has is refused.",
      cmd_init_token },
    { "delete-token", "module label slot pin-file",
      "delete-token --label LABEL [--pin-file FILE]",
      "Deletes a token for good: checks the SO PIN with C_Login as SO, then removes\n"
      "slot-N.db, its -wal, -shm and .lock files and the token's audit files. The SO PIN\n"
      "comes from --pin-file, else CRATON_SO_PIN, else a prompt.",
      cmd_delete_token },
    { "show-slots", "module",
      "show-slots",
      "Lists every slot with its token: label, serial, flags; the free slot is marked.",
      cmd_show_slots },
    { "list-objects", "module token slot json login pin-file",
      "list-objects [--token LABEL] [--json] [--login] [--pin-file FILE]",
      "Lists the objects of one token (or of all): class, label, ID (hex), key type and size,\n"
      "usage flags and unique ID. Private objects are listed when logged in: with --login, or\n"
      "when a PIN is given (--pin-file or CRATON_PIN).",
      cmd_list_objects },
    { "change-pin", "module token slot so pin-file new-pin-file",
      "change-pin [--token LABEL] [--so] [--pin-file FILE] [--new-pin-file FILE]",
      "Changes the user PIN (or with --so the SO PIN) with C_SetPIN. The current PIN comes\n"
      "from --pin-file, else CRATON_PIN (CRATON_SO_PIN with --so), else a prompt; the new one\n"
      "from --new-pin-file, else CRATON_NEW_PIN, else a prompt (asked twice).",
      cmd_change_pin },
    { "init-pin", "module token slot pin-file new-pin-file",
      "init-pin [--token LABEL] [--pin-file FILE] [--new-pin-file FILE]",
      "Sets the user PIN as the SO (C_InitPIN). The SO PIN comes from --pin-file, else\n"
      "CRATON_SO_PIN, else a prompt; the new user PIN from --new-pin-file, else\n"
      "CRATON_NEW_PIN, else a prompt (asked twice).",
      cmd_init_pin },
    { "import", "module token slot label id aes pin-file pass-file",
      "import [--token LABEL] --label LABEL [--id HEX] [--pass-file FILE] FILE...\n"
      "  craton-util import [--token LABEL] --label LABEL [--id HEX] --aes FILE",
      "Stores keys and certificates on the token with C_CreateObject: private keys (RSA, EC,\n"
      "Ed25519) in PEM, DER, PKCS#8 (also encrypted) or PKCS#12, public keys, X.509\n"
      "certificates; with --aes, a raw AES key (16, 24 or 32 bytes). Private and secret keys\n"
      "are token objects, private and sensitive; a private key also gets its public key\n"
      "object. Every object of one call gets the same label and ID (a key and its\n"
      "certificate); the ID defaults to the SHA-1 of the public key. --pass-file holds the\n"
      "passphrase of encrypted files (else a prompt). Logs in as user.",
      cmd_import },
    { "export", "module token slot label id uid public cert out pin-file login",
      "export (--public | --cert) [--token LABEL] (--label L | --id HEX | --uid UID) [--out FILE]",
      "Writes a public key (SubjectPublicKeyInfo) or a certificate as PEM to stdout or to\n"
      "--out. The public key is read from a public key object, else from the private key's\n"
      "public attributes (needs a login), else from the certificate with that label/ID.",
      cmd_export },
    { "delete-object", "module token slot label id uid type all pin-file",
      "delete-object [--token LABEL] (--label L | --id HEX | --uid UID) [--type T] [--all]",
      "Destroys the matching objects (logged in as user). T is one of private, public,\n"
      "secret, cert, data. More than one match is refused unless --all.",
      cmd_delete_object },
    { "backup", "token slot out force",
      "backup --token LABEL --out FILE [--force]",
      "Takes a consistent snapshot of the token's database with SQLite's online backup API\n"
      "(other processes keep working) and copies its audit files, into one file with a\n"
      "header and a SHA-256 checksum over everything. No PIN is needed: keys stay sealed\n"
      "under the token's PIN-protected key. An existing FILE is replaced only with --force.",
      cmd_backup },
    { "restore", "in force",
      "restore --in FILE [--force]",
      "Checks the file's checksum and refuses a damaged or tampered file, then puts the\n"
      "token's database and audit files back into the token directory under the slot ID\n"
      "they had. A token in that slot, or with that label, is overwritten (same slot) only\n"
      "with --force; stop other users of that token first.",
      cmd_restore },
    { "migrate-softhsm",
      "module token slot pin-file softhsm-conf softhsm-module softhsm-token softhsm-pin-file",
      "migrate-softhsm --softhsm-conf FILE [--softhsm-token LABEL] [--softhsm-pin-file FILE]\n"
      "                  [--softhsm-module PATH] [--token LABEL] [--pin-file FILE]",
      "Copies what SoftHSMv2 lets out of one of its tokens into a Craton token: certificates,\n"
      "public keys, data objects, and secret/private keys that are extractable and not\n"
      "sensitive (read attribute by attribute). The SoftHSM user PIN comes from\n"
      "--softhsm-pin-file, else SOFTHSM_PIN, else a prompt; with none of them and no\n"
      "terminal, only public objects are copied. The Craton user PIN comes from --pin-file,\n"
      "else CRATON_PIN, else a prompt. Objects already on the Craton token (same class,\n"
      "label and ID) are skipped. The SoftHSM module defaults to\n"
      "/usr/lib/softhsm/libsofthsm2.so.",
      cmd_migrate_softhsm },
    { "audit", "token slot key-file since until op result hashes",
      "audit verify [--token LABEL | --slot N] [--key-file FILE]\n"
      "  craton-util audit show [--token LABEL | --slot N] [--since T] [--until T] [--op NAME]\n"
      "                         [--result CKR_X] [--hashes]",
      "verify: checks the hash chain across rotated files and against the anchor in the\n"
      "token database; exit status 1 on a broken chain. show: prints the records.",
      cmd_audit },
    { "config", "",
      "config check",
      "Loads the configuration as the library does (CRATON_CONFIG, else\n"
      "$XDG_CONFIG_HOME/craton/craton.conf, else /etc/craton/craton.conf, then environment\n"
      "overrides) with its [audit] section, and prints the effective values or the error.",
      cmd_config },
};
#define NCMD (sizeof commands / sizeof commands[0])

struct optdef {
    const char *name;
    size_t off;
    bool flag;
};
#define S(f) offsetof(struct opts, f), false
#define B(f) offsetof(struct opts, f), true
static const struct optdef optdefs[] = {
    { "module", S(module) },          { "token", S(token) },
    { "label", S(label) },            { "id", S(id) },
    { "uid", S(uid) },                { "slot", S(slot) },
    { "pin-file", S(pin_file) },      { "new-pin-file", S(new_pin_file) },
    { "out", S(out) },                { "in", S(in) },
    { "aes", S(aes) },                { "type", S(type) },
    { "softhsm-conf", S(softhsm_conf) }, { "softhsm-module", S(softhsm_module) },
    { "softhsm-token", S(softhsm_token) }, { "softhsm-pin-file", S(softhsm_pin_file) },
    { "pass-file", S(pass_file) },    { "key-file", S(key_file) },
    { "since", S(since) },            { "until", S(until) },
    { "op", S(op) },                  { "result", S(result) },
    { "so", B(so) },                  { "json", B(json) },
    { "force", B(force) },            { "public", B(pub) },
    { "cert", B(cert) },              { "all", B(all) },
    { "login", B(login) },            { "hashes", B(hashes) },
};
#undef S
#undef B

const char *g_cmd = NULL;

static void usage_all(FILE *f)
{
    fputs("usage: craton-util COMMAND [OPTIONS]\n"
          "Operator's tool for Craton PKCS#11 tokens. Commands:\n",
          f);
    for (size_t i = 0; i < NCMD; i++)
        fprintf(f, "  craton-util %s\n", commands[i].usage);
    fputs("Common options: --module PATH (the PKCS#11 module; default ", f);
    fputs(p11_default_module(), f);
    fputs("), --help.\n"
          "'craton-util COMMAND --help' explains a command. Exit status: 0 success, 1 failure,\n"
          "2 usage error, 3 PIN missing or wrong.\n",
          f);
}

static void usage_cmd(FILE *f, const struct command *c)
{
    fprintf(f, "usage: craton-util %s\n\n%s\n", c->usage, c->help);
    if (strstr(c->options, "module"))
        fprintf(f, "\n--module PATH: the PKCS#11 module (default %s).\n", p11_default_module());
}

static bool accepts(const struct command *c, const char *name)
{
    size_t n = strlen(name);
    const char *p = c->options;
    while ((p = strstr(p, name)) != NULL) {
        bool start = p == c->options || p[-1] == ' ';
        bool end = p[n] == 0 || p[n] == ' ';
        if (start && end)
            return true;
        p += n;
    }
    return false;
}

static int parse(const struct command *c, int argc, char **argv, struct opts *o)
{
    bool dashdash = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (dashdash || a[0] != '-' || !strcmp(a, "-")) {
            if (o->nargs >= (int)(sizeof o->args / sizeof o->args[0])) {
                errf("too many arguments");
                return -1;
            }
            o->args[o->nargs++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            dashdash = true;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage_cmd(stdout, c);
            exit(EX_OK);
        }
        if (strncmp(a, "--", 2)) {
            errf("unknown option %s (see craton-util %s --help)", a, c->name);
            return -1;
        }
        char name[64];
        const char *val = NULL, *eq = strchr(a + 2, '=');
        size_t nl = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        if (nl >= sizeof name) {
            errf("unknown option %s", a);
            return -1;
        }
        memcpy(name, a + 2, nl);
        name[nl] = 0;
        const struct optdef *d = NULL;
        for (size_t k = 0; k < sizeof optdefs / sizeof optdefs[0]; k++)
            if (!strcmp(optdefs[k].name, name))
                d = &optdefs[k];
        if (!d || !accepts(c, name)) {
            errf("unknown option --%s (see craton-util %s --help)", name, c->name);
            return -1;
        }
        if (d->flag) {
            if (eq) {
                errf("--%s takes no value", name);
                return -1;
            }
            *(bool *)((char *)o + d->off) = true;
            continue;
        }
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else {
            errf("--%s needs a value", name);
            return -1;
        }
        *(const char **)((char *)o + d->off) = val;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* --module PATH may also come before the command. */
    const char *module = NULL;
    while (argc >= 2 && !strncmp(argv[1], "--module", 8) &&
           (argv[1][8] == 0 || argv[1][8] == '=')) {
        if (argv[1][8] == '=') {
            module = argv[1] + 9;
        } else if (argc >= 3) {
            module = argv[2];
            argv++;
            argc--;
        } else {
            errf("--module needs a value");
            return EX_USAGE;
        }
        argv++;
        argc--;
    }
    if (argc < 2) {
        usage_all(stderr);
        return EX_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        if (argc > 2 && strcmp(argv[1], "help") == 0) {
            for (size_t i = 0; i < NCMD; i++)
                if (!strcmp(commands[i].name, argv[2])) {
                    usage_cmd(stdout, &commands[i]);
                    return EX_OK;
                }
        }
        usage_all(stdout);
        return EX_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        puts("craton-util " CRATON_UTIL_VERSION);
        return EX_OK;
    }
    const struct command *c = NULL;
    for (size_t i = 0; i < NCMD; i++)
        if (!strcmp(commands[i].name, argv[1]))
            c = &commands[i];
    if (!c) {
        errf("unknown command '%s'", argv[1]);
        usage_all(stderr);
        return EX_USAGE;
    }
    g_cmd = c->name;
    struct opts o;
    memset(&o, 0, sizeof o);
    if (parse(c, argc, argv, &o))
        return EX_USAGE;
    if (!o.module)
        o.module = module;
    return c->run(&o);
}
