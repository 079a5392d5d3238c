#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/ (run once; the output is committed).

    python3 tests/fuzz/make_seeds.py fuzz_template fuzz_attrs_blob \
        fuzz_mech_params=build-fuzz/tests/fuzz/fuzz_mech_params \
        fuzz_api=build-fuzz/tests/fuzz/fuzz_mech_params

(the last two read the mechanism table from the built fuzz_mech_params).

The layouts are those the targets decode (see fuzz_util.h and each target's header comment);
the name lists below mirror g_types / g_ulongs in fuzz_util.h and must stay in their order."""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

TYPES = """CLASS TOKEN PRIVATE LABEL UNIQUE_ID APPLICATION VALUE OBJECT_ID CERTIFICATE_TYPE ISSUER
SERIAL_NUMBER TRUSTED CERTIFICATE_CATEGORY CHECK_VALUE SUBJECT URL KEY_TYPE ID SENSITIVE ENCRYPT
DECRYPT WRAP UNWRAP SIGN SIGN_RECOVER VERIFY VERIFY_RECOVER DERIVE START_DATE END_DATE MODULUS
MODULUS_BITS PUBLIC_EXPONENT PRIVATE_EXPONENT PRIME_1 PRIME_2 EXPONENT_1 EXPONENT_2 COEFFICIENT
PUBLIC_KEY_INFO VALUE_LEN EXTRACTABLE LOCAL NEVER_EXTRACTABLE ALWAYS_SENSITIVE KEY_GEN_MECHANISM
MODIFIABLE COPYABLE DESTROYABLE EC_PARAMS EC_POINT ALWAYS_AUTHENTICATE WRAP_WITH_TRUSTED
WRAP_TEMPLATE UNWRAP_TEMPLATE DERIVE_TEMPLATE ALLOWED_MECHANISMS""".split()
ULONGS = """O_DATA O_CERTIFICATE O_PUBLIC_KEY O_PRIVATE_KEY O_SECRET_KEY O_HW_FEATURE
O_DOMAIN_PARAMETERS O_MECHANISM O_OTP_KEY O_PROFILE K_RSA K_EC K_GENERIC_SECRET K_AES
K_EC_EDWARDS K_EC_MONTGOMERY K_CHACHA20 K_SHA256_HMAC K_SHA512_HMAC K_SHA3_256_HMAC K_HKDF
K_DES3 C_X_509 C_WTLS 16 24 32 64 256 1024 2048""".split()


def t(name):
    return bytes([TYPES.index(name)])


def raw(b):
    assert len(b) < 256
    return bytes([0, len(b)]) + b


def raw16(b):
    return bytes([8]) + struct.pack('<H', len(b)) + b


def boolean(v):
    return bytes([1, 1 if v else 0])


def ul(name):
    return bytes([2, ULONGS.index(name)])


def ulraw(v):
    return bytes([3]) + struct.pack('<Q', v)


def null(n):
    return bytes([4, 1, n])


def absurd(s):
    return bytes([5, s])


def date(fixed_2024=True):
    return bytes([7, 3 if fixed_2024 else 1])


def nested(attrs, odd=False):
    return bytes([6]) + template(attrs) + bytes([0xf1 if odd else 0])


def template(attrs):
    out = bytes([len(attrs)])
    for name, val in attrs:
        out += t(name) + val
    return out


# Output templates: (type, kind, arg): kind 'len' (NULL pValue), 'buf' (size), 'ulong',
# 'nested' (list of the same).
def rtemplate(items):
    out = bytes([len(items)])
    for name, kind, arg in items:
        out += t(name)
        if kind == 'len':
            out += bytes([0, 0])
        elif kind == 'buf':
            out += bytes([2]) + struct.pack('<H', arg) if arg > 255 else bytes([1, arg])
        elif kind == 'ulong':
            out += bytes([3])
        else:
            out += bytes([4]) + rtemplate(arg)
    return out


P256_OID = bytes.fromhex('06082a8648ce3d030107')
KEY32 = bytes(range(32))
RSA_N = bytes([0xc5]) + bytes(range(1, 128))

READ_ALL = rtemplate([('CLASS', 'ulong', 0), ('KEY_TYPE', 'ulong', 0), ('VALUE', 'buf', 64),
                      ('LABEL', 'len', 0), ('LABEL', 'buf', 2),
                      ('WRAP_TEMPLATE', 'nested', [('CLASS', 'buf', 8), ('KEY_TYPE', 'len', 0)]),
                      ('UNWRAP_TEMPLATE', 'len', 0), ('MODULUS', 'buf', 300),
                      ('ALWAYS_SENSITIVE', 'buf', 1), ('VALUE_LEN', 'ulong', 0),
                      ('EC_POINT', 'buf', 80), ('ALLOWED_MECHANISMS', 'buf', 24)])

SECRET_AES = [('CLASS', ul('O_SECRET_KEY')), ('KEY_TYPE', ul('K_AES')), ('VALUE', raw(KEY32)),
              ('TOKEN', boolean(False)), ('LABEL', raw(b'aes key')), ('SENSITIVE', boolean(False)),
              ('EXTRACTABLE', boolean(True)),
              ('WRAP_TEMPLATE', nested([('CLASS', ul('O_SECRET_KEY')), ('KEY_TYPE', ul('K_AES'))])),
              ('ALLOWED_MECHANISMS', raw(struct.pack('<QQ', 0x1082, 0x2109)))]
SECRET_GEN = [('CLASS', ul('O_SECRET_KEY')), ('KEY_TYPE', ul('K_AES')), ('VALUE_LEN', ul('32')),
              ('LABEL', raw(b'gen')), ('ENCRYPT', boolean(True)),
              ('UNWRAP_TEMPLATE', nested([('EXTRACTABLE', boolean(False))])),
              ('DERIVE_TEMPLATE', nested([('SENSITIVE', boolean(True))]))]
DATA = [('CLASS', ul('O_DATA')), ('VALUE', raw(b'hello world')), ('APPLICATION', raw(b'app')),
        ('LABEL', raw(b'data')), ('OBJECT_ID', raw(bytes.fromhex('06032a0304'))),
        ('PRIVATE', boolean(False))]
CERT = [('CLASS', ul('O_CERTIFICATE')), ('CERTIFICATE_TYPE', ul('C_X_509')),
        ('VALUE', raw16(bytes(300))), ('SUBJECT', raw(b'0\x00')),
        ('CERTIFICATE_CATEGORY', bytes([2, 0xc0, 2])), ('START_DATE', date()),
        ('END_DATE', date(False)), ('TRUSTED', boolean(True))]
RSA_PUB_GEN = [('CLASS', ul('O_PUBLIC_KEY')), ('KEY_TYPE', ul('K_RSA')),
               ('MODULUS_BITS', ul('2048')), ('PUBLIC_EXPONENT', raw(b'\x01\x00\x01')),
               ('VERIFY', boolean(True)), ('ID', raw(b'\x01\x02'))]
RSA_PUB = [('CLASS', ul('O_PUBLIC_KEY')), ('KEY_TYPE', ul('K_RSA')), ('MODULUS', raw(RSA_N)),
           ('PUBLIC_EXPONENT', raw(b'\x01\x00\x01')), ('ENCRYPT', boolean(True))]
EC_PRIV = [('CLASS', ul('O_PRIVATE_KEY')), ('KEY_TYPE', ul('K_EC')), ('EC_PARAMS', raw(P256_OID)),
           ('VALUE', raw(KEY32)), ('SIGN', boolean(True)), ('START_DATE', date()),
           ('ALWAYS_AUTHENTICATE', boolean(False)), ('EXTRACTABLE', boolean(True)),
           ('SENSITIVE', boolean(False))]
ABSURD = [('CLASS', ul('O_DATA')), ('LABEL', absurd(0)), ('VALUE', absurd(7)),
          ('APPLICATION', null(5)), ('ID', absurd(2))]
CHANGES = [('LABEL', raw(b'renamed')), ('SENSITIVE', boolean(True)), ('EXTRACTABLE', boolean(False)),
           ('ID', raw(b'\x09')), ('COPYABLE', boolean(False))]
CHANGES_BAD = [('LABEL', raw(b'x')), ('CLASS', ul('O_DATA')), ('TRUSTED', boolean(True))]


def template_seed(flags, cls_sel, kt_sel, t1, t2, r=READ_ALL):
    return bytes([flags, cls_sel, kt_sel]) + template(t1) + template(t2) + r


def seeds_template():
    return {
        'secret_aes': template_seed(0, 4, 4, SECRET_AES, CHANGES),
        'secret_gen': template_seed(0, 4, 4, SECRET_GEN, CHANGES),
        'data': template_seed(0, 0, 0xff, DATA, [('LABEL', raw(b'd2')), ('VALUE', raw(b''))]),
        'cert_so': template_seed(1, 1, 0xff, CERT, CHANGES_BAD),
        'rsa_pub_gen': template_seed(0, 2, 0, RSA_PUB_GEN, CHANGES),
        'rsa_pub': template_seed(0, 0xff, 0xff, RSA_PUB, [('ENCRYPT', boolean(False))]),
        'ec_priv': template_seed(0, 3, 1, EC_PRIV, CHANGES),
        'absurd': template_seed(0, 0, 0xff, ABSURD, ABSURD),
        'odd_nested': template_seed(0, 4, 4, [('CLASS', ul('O_SECRET_KEY')), ('WRAP_TEMPLATE',
                                    nested([('SENSITIVE', boolean(True))], odd=True))], []),
    }


CKA = {'CLASS': 0, 'TOKEN': 1, 'PRIVATE': 2, 'LABEL': 3, 'VALUE': 0x11, 'KEY_TYPE': 0x100,
       'ID': 0x102, 'SENSITIVE': 0x103, 'ENCRYPT': 0x104, 'VALUE_LEN': 0x161,
       'EXTRACTABLE': 0x162, 'WRAP_TEMPLATE': 0x40000211}


def blob(attrs, magic=b'CRA1'):
    """attr.h's serialized form: magic, then type u64 LE, len u32 LE, value."""
    out = magic
    for name, val in attrs:
        out += struct.pack('<QI', CKA[name], len(val)) + val
    return out


def u64(v):
    return struct.pack('<Q', v)


PUB_DATA = [('CLASS', u64(0)), ('TOKEN', b'\x01'), ('PRIVATE', b'\x00'), ('LABEL', b'data'),
            ('VALUE', b'value')]
SECRET_KEY = [('CLASS', u64(4)), ('KEY_TYPE', u64(0x1f)), ('PRIVATE', b'\x01'),
              ('SENSITIVE', b'\x01'), ('VALUE_LEN', u64(32)),
              ('WRAP_TEMPLATE', blob([('CLASS', u64(4))]))]
KEY_VALUE = [('VALUE', bytes(range(32)))]


def record(flags, flags2, cls_sel, kt_sel, label, ident, attrs, secret, types=None):
    """fuzz_attrs_blob's record: flags, flags2, cls, key_type, uid byte, columns."""
    out = bytes([flags, flags2, cls_sel]) + (b'' if flags2 & 0x80 else bytes([kt_sel]))
    out += bytes([7])  # the uid's first hex digit
    out += bytes([len(label)]) + label + bytes([len(ident)]) + ident
    out += struct.pack('<H', len(attrs)) + attrs + struct.pack('<H', len(secret)) + secret
    if types:
        out += bytes(types)
    return out


def seeds_blob():
    pub = blob(PUB_DATA)
    sec = blob(SECRET_KEY)
    # In a record, "CRA1" is added in front of attrs and of the sealed plaintext.
    pub_body, sec_body, val_body = pub[4:], sec[4:], blob(KEY_VALUE)[4:]
    return {
        'parse_pub': b'\x00' + pub,
        'parse_secret': b'\x01' + sec,
        'parse_nested': b'\x00' + blob([('WRAP_TEMPLATE', blob(PUB_DATA))]),
        'parse_truncated': b'\x00' + pub[:-3],
        'roundtrip_data': b'\x02' + pub,
        'roundtrip_key': b'\x02' + sec + blob(KEY_VALUE)[4:],
        'unseal_public': b'\x03' + record(0x80, 0x00, 0, 0, b'data', b'', pub_body, b'', None),
        'unseal_sealed': b'\x03' + record(0x08, 0x00, 4, 13, b'', b'\x01',
                                          blob([('CLASS', u64(4)), ('KEY_TYPE', u64(0x1f)),
                                                ('PRIVATE', b'\x00')])[4:], val_body),
        'unseal_private': b'\x03' + record(0x18, 0x00, 4, 13, bytes(32), bytes(32), b'',
                                           sec_body + val_body),
        'unseal_nokey': b'\x03' + record(0x0c, 0x00, 0, 0, b'data', b'', pub_body, b''),
        'sqlite_public': b'\x04' + record(0x80, 0x00, 0, 0, b'data', b'', pub_body, b''),
        'sqlite_sealed': b'\x04' + record(0x08, 0x00, 4, 13, b'', b'\x01',
                                          blob([('CLASS', u64(4)), ('KEY_TYPE', u64(0x1f)),
                                                ('PRIVATE', b'\x00')])[4:], val_body),
        'sqlite_types': b'\x04' + record(0x80, 0x10, 0, 0, b'data', b'', pub_body, b'',
                                         [4, 2, 1, 3, 4, 2, 4, 5 | 40, 4, 0]),
    }


# ---- fuzz_mech_params ------------------------------------------------------------------
# Needs the built target: make_seeds.py fuzz_mech_params=<path to fuzz_mech_params>.
FN_ORDER = [0x100, 0x200, 0x400, 0x800, 0x2000, 0x1000, 0x4000]  # as in the target's fns[]
MGMT = 0x8000 | 0x10000 | 0x80000 | 0x20000 | 0x40000  # GENERATE, PAIR, DERIVE, WRAP, UNWRAP
MGMT_ORDER = [0x8000, 0x10000, 0x80000, 0x20000, 0x40000]
HASH_OF = {0x43: 0x250, 0x44: 0x260, 0x45: 0x270, 0x47: 0x255, 0x0d: 0x250, 0x63: 0x2b0,
           0x64: 0x2c0, 0x65: 0x2d0, 0x67: 0x2b5, 0x0e: 0x220}
HLEN = {0x250: 32, 0x260: 48, 0x270: 64, 0x255: 28, 0x2b0: 32, 0x2c0: 48, 0x2d0: 64,
        0x2b5: 28, 0x220: 20}
MGF_OF = {0x250: 2, 0x260: 3, 0x270: 4, 0x255: 5, 0x220: 1, 0x2b0: 7, 0x2c0: 8, 0x2d0: 9,
          0x2b5: 6}


def buf(b):
    """rd_buf with a real buffer (mode 2, up to 63 bytes, or mode 4 for longer)."""
    if len(b) < 64:
        return bytes([2, len(b)]) + b
    return bytes([4]) + struct.pack('<H', len(b)) + b


NOBUF = bytes([0])


def mech_param(t):
    if t in (0x1082, 0x1085, 0x1089):        # AES CBC, CBC_PAD, CTS: IV
        return b'\x00' + buf(bytes(range(16)))
    if t == 0x1086:                           # CTR: counter bits + block
        return b'\x00' + buf(struct.pack('<Q', 128) + bytes(15) + b'\x01')
    if t in HASH_OF:                          # PSS
        h = HASH_OF[t]
        return b'\x00' + buf(struct.pack('<QQQ', h, MGF_OF[h], HLEN[h]))
    if t in (0x108b, 0x4a, 0x222, 0x252, 0x257, 0x262, 0x272, 0x2b2, 0x2b7, 0x2c2, 0x2d2, 0x4e):
        return b'\x00' + buf(struct.pack('<Q', 16))   # *_GENERAL: MAC length
    if t == 0x365:                            # EXTRACT_KEY_FROM_KEY: bit index
        return b'\x00' + buf(struct.pack('<Q', 8))
    if t == 0x1087:                           # GCM
        return b'\x00' + b'\x00' + buf(bytes(12)) + buf(b'aad!') + b'\x00'
    if t == 0x1088:                           # CCM: data length 16 (table index 1)
        return b'\x00' + b'\x01' + buf(bytes(12)) + buf(b'aad') + b'\x10'
    if t == 0x4021:                           # ChaCha20-Poly1305
        return b'\x00' + buf(bytes(12)) + buf(b'aad!')
    if t == 0x09:                             # OAEP: SHA-256, MGF1-SHA256, no label
        return b'\x00' + b'\x00\x00\x00' + NOBUF
    if t in (0x1050, 0x1051):                 # ECDH: CKD_NULL, P-256 point (DER)
        return b'\x00' + b'\x00' + NOBUF + b'\x01\x00'
    if t == 0x1057:                           # EdDSA: no parameters
        return b'\xf8' + NOBUF
    if t in (0x402a, 0x402b):                 # HKDF: extract+expand SHA-256, salt data, info
        return b'\x00' + b'\x01\x01\x00\x01' + buf(b'saltsalt') + b'\x00' + buf(b'info')
    if t == 0x3b0:                            # PBKDF2, PARAMS2 layout
        return (b'\x00' + b'\x00' + buf(b'saltsalt') + struct.pack('<H', 10) + b'\x00' + NOBUF +
                b'\x01' + buf(b'password'))
    if t == 0x3ac:                            # SP 800-108 counter: counter + label
        return (b'\x00' + b'\x00' + b'\x02' + b'\x00\x00\x00\x20' + b'\x03\x01' + buf(b'label') +
                b'\x00' + b'\x00')
    if t == 0x3ad:                            # SP 800-108 feedback: iteration var + label + IV
        return (b'\x00' + b'\x00' + b'\x02' + b'\x00\x01' + NOBUF + b'\x03\x01' + buf(b'label') +
                b'\x00' + b'\x00' + buf(bytes(32)))
    if t in (0x1104, 0x362, 0x363, 0x364):    # string data
        return b'\x00' + buf(bytes(range(16)))
    if t == 0x1105:                           # AES_CBC_ENCRYPT_DATA: iv + data
        return b'\x00' + bytes(16) + buf(bytes(range(16)))
    return b'\x00' + NOBUF


def data(b):
    return struct.pack('<H', len(b)) + b


OUT_1K = b'\x40' + struct.pack('<H', 1024)
OUT_QUERY = b'\x01'
SECRET32 = template([('CLASS', ul('O_SECRET_KEY')), ('KEY_TYPE', ul('K_GENERIC_SECRET')),
                     ('VALUE_LEN', ul('32'))])


def keygen_template(t, part):
    if t == 0x0:   # RSA: 1024 bits (the target skips larger)
        if part == 0:
            return template([('MODULUS_BITS', ul('1024')), ('PUBLIC_EXPONENT', raw(b'\x01\x00\x01'))])
        return template([('SIGN', boolean(True))])
    if t == 0x1040:
        return template([('EC_PARAMS', raw(bytes.fromhex('06082a8648ce3d030107')))]) if part == 0 else template([])
    if t == 0x1055:
        return template([('EC_PARAMS', raw(bytes.fromhex('06032b6570')))]) if part == 0 else template([])
    if t == 0x1056:
        return template([('EC_PARAMS', raw(bytes.fromhex('06032b656e')))]) if part == 0 else template([])
    if t == 0x1080:
        return template([('KEY_TYPE', ul('K_AES')), ('VALUE_LEN', ul('32'))])
    if t == 0x1225:
        return template([('KEY_TYPE', ul('K_CHACHA20'))])
    if t == 0x3b0:
        return template([('KEY_TYPE', ul('K_AES')), ('VALUE_LEN', ul('32'))])
    if t == 0x402c:
        return template([('KEY_TYPE', ul('K_HKDF')), ('VALUE_LEN', ul('32'))])
    return template([('KEY_TYPE', ul('K_GENERIC_SECRET')), ('VALUE_LEN', ul('32'))])


def seeds_mech(binary):
    import subprocess
    out = subprocess.run([binary], env={'FUZZ_LIST_MECHS': '1'}, capture_output=True, text=True,
                         check=True).stdout
    seeds = {}
    for line in out.splitlines():
        _, t, flags, _kt, fam = line.split()[:5]
        t, flags = int(t, 16), int(flags, 16)
        head_ = struct.pack('<I', t)
        param = mech_param(t)
        ops = [f for f in FN_ORDER if flags & f]
        for i, f in enumerate(ops):
            for multi in (0, 1):
                how = bytes([multi | (0x40 if multi else 0) | (0x80 if f == 0x400 else 0)])
                body = how + data(bytes(range(48)) if t != 0x1041 else bytes(32))
                if f == 0x2000:
                    body += data(bytes(64))
                elif multi:
                    outs = OUT_1K * 3 if f in (0x100, 0x200) else b''
                    body += outs + OUT_1K + OUT_1K
                else:
                    body += OUT_QUERY + OUT_1K
                seeds['%s_%x_fn%x_%s' % (fam, t, f, 'multi' if multi else 'one')] = \
                    head_ + bytes([i, 0]) + param + body
        mg = [f for f in MGMT_ORDER if flags & f]
        for i, f in enumerate(mg):
            action = bytes([0x80 + i if ops else i])
            if f == 0x8000:
                body = keygen_template(t, 0)
            elif f == 0x10000:
                body = keygen_template(t, 0) + keygen_template(t, 1)
            elif f == 0x80000:
                body = (template([('CLASS', ul('O_DATA'))]) if t == 0x402b else SECRET32)
            elif f == 0x20000:
                body = b'\x00' + OUT_1K     # wrap the AES key
            else:
                body = data(bytes(40)) + template([('CLASS', ul('O_SECRET_KEY')),
                                                   ('KEY_TYPE', ul('K_AES'))])
            seeds['%s_%x_mgmt%x' % (fam, t, f)] = head_ + action + b'\x00' + param + body
    # ECDH with X25519 (key 12 of the pool: 0xf6 % 13) and a raw P-256 point.
    seeds['ecdh_x25519'] = struct.pack('<I', 0x1050) + b'\x80\xf6' + b'\x00\x00' + NOBUF + b'\x03\x00' + SECRET32
    seeds['ecdh_p256_raw'] = struct.pack('<I', 0x1050) + b'\x80\x00' + b'\x00\x00' + NOBUF + b'\x02\x00' + SECRET32
    return seeds


# ---- fuzz_api ----------------------------------------------------------------------------
# Mechanisms are chosen by position in C_GetMechanismList (the same sorted table).
def seeds_api(binary):
    import subprocess
    out = subprocess.run([binary], env={'FUZZ_LIST_MECHS': '1'}, capture_output=True, text=True,
                         check=True).stdout
    mechs = [int(l.split()[1], 16) for l in out.splitlines()]

    def mech(t):
        return b'\x00' + bytes([mechs.index(t)]) + mech_param(t)

    B = {'AES': 0, 'GENERIC': 1, 'RSA_PUB': 2, 'RSA_PRIV': 3, 'EC_PUB': 4, 'EC_PRIV': 5,
         'ED_PUB': 6, 'ED_PRIV': 7, 'X_PUB': 8, 'X_PRIV': 9, 'DATA': 10}
    S0 = b'\x00'                         # the input's first session

    def obj(name):
        return bytes([B[name]])

    def inp(b):
        return bytes([len(b)]) + b if len(b) < 0x80 else b'\x80' + struct.pack('<H', len(b)) + b

    QUERY_THEN_CALL = b'\x00\x00\x01'    # NULL out (length 0 claimed), then a real call
    OUT_2K = b'\x40' + struct.pack('<H', 2048)

    def init(which, m, o):                # which: 0 enc 1 dec 2 sign 3 verify 4 sr 5 vr
        return b'\x0e' + S0 + bytes([which]) + m + o

    def oneshot(which, data, out=QUERY_THEN_CALL):   # 0 Encrypt 1 Decrypt 2 Digest 3 SR 4 VR 5 EncUpd 6 DecUpd
        return b'\x11' + S0 + bytes([which]) + inp(data) + out

    def sign(data, out=OUT_2K):
        return b'\x14' + S0 + inp(data) + out

    def verify(data, sig):
        return b'\x17' + S0 + inp(data) + inp(sig) + b'\x00'

    def create(t, name=None):
        return b'\x05' + S0 + template(t) + b'\x00' + b'\x00'

    msg = bytes(range(32))
    seeds = {
        'gcm_encrypt': b'\xe1' + init(0, mech(0x1087), obj('AES')) + oneshot(0, msg),
        'cbc_pad_multi': b'\xe1' + init(0, mech(0x1085), obj('AES')) + oneshot(5, msg, OUT_2K) +
                         b'\x16' + S0 + b'\x00' + OUT_2K,
        'rsa_sign_verify': b'\xe1' + init(2, mech(0x1), obj('RSA_PRIV')) + sign(msg) +
                           init(3, mech(0x1), obj('RSA_PUB')) + verify(msg, bytes(256)),
        'pss_sign': b'\xe1' + init(2, mech(0x43), obj('RSA_PRIV')) + sign(msg),
        'oaep_encrypt': b'\x00' + init(0, mech(0x9), obj('RSA_PUB')) + oneshot(0, msg),
        'ecdsa_sign': b'\xe1' + init(2, mech(0x1044), obj('EC_PRIV')) + sign(msg),
        'eddsa_sign': b'\xe1' + init(2, mech(0x1057), obj('ED_PRIV')) + sign(msg),
        'hmac_sign': b'\xe1' + init(2, mech(0x251), obj('GENERIC')) + sign(msg),
        'digest_state': b'\x00' + b'\x10' + S0 + mech(0x250) + b'\x15' + S0 + inp(msg) + b'\x00' +
                        b'\x1e' + S0 + OUT_2K + inp(b'') + b'\x01\x00' + S0 + b'\x00\x00' +
                        b'\x16' + S0 + b'\x02' + OUT_2K,
        'objects': b'\x01' + create(DATA) +
                   b'\x09' + S0 + b'\xc0' + READ_ALL + b'\x00' +
                   b'\x0a' + S0 + b'\xc0' + template([('LABEL', raw(b'changed'))]) + b'\x00' +
                   b'\x0b' + S0 + template([('CLASS', ul('O_DATA'))]) + b'\x00' +
                   b'\x0c' + S0 + b'\x10' + b'\x00' + b'\x0d' + S0 +
                   b'\x06' + S0 + b'\xc0' + template([('LABEL', raw(b'copy'))]) + b'\x00\x00' +
                   b'\x07' + S0 + b'\xc0',
        'keys_login': b'\xe1' + b'\x18' + S0 + mech(0x1080) +
                      template([('CLASS', ul('O_SECRET_KEY')), ('VALUE_LEN', ul('32')),
                                ('EXTRACTABLE', boolean(True)), ('TOKEN', boolean(True))]) + b'\x00\x00' +
                      b'\x1a' + S0 + mech(0x2109) + obj('AES') + b'\xc0' + OUT_2K +
                      b'\x1b' + S0 + mech(0x2109) + obj('AES') + inp(bytes(40)) +
                      template([('CLASS', ul('O_SECRET_KEY')), ('KEY_TYPE', ul('K_AES'))]) + b'\x00\x00',
        'ecdh_derive': b'\xe1' + b'\x1c' + S0 + mech(0x1050) + obj('EC_PRIV') + SECRET32 + b'\x00\x00',
        'hkdf_derive': b'\xe1' + b'\x1c' + S0 + mech(0x402a) + obj('GENERIC') + SECRET32 + b'\x00\x00',
        'ec_keypair': b'\xe1' + b'\x19' + S0 + mech(0x1040) +
                      template([('EC_PARAMS', raw(bytes.fromhex('06082a8648ce3d030107')))]) + b'\x00' +
                      template([('SIGN', boolean(True))]) + b'\x00\x00\x00',
        'queries': b'\x00' + b'\x20\x00\x00' + b'\x20\x00\x01' + b'\x20\x00\x02' +
                   b'\x20\x00\x03\x40\x00' + b'\x20\x00\x04\x00\x05' + b'\x23\x00' + b'\x23\x02\x00' +
                   b'\x23\x03\x03\x00\x00\x00' + b'\x02\x00' + S0 + b'\x1d' + S0 + inp(bytes(16)) + b'\x00',
        'sessions_pins': b'\x00' + b'\x00\x00\x00\x00' + b'\x03\x01\x00\x00\x00' + b'\x04\x01' +
                         b'\x21\x01\x00\x00' + b'\x01\x01' + b'\x22\x00',
        'random': b'\x00' + b'\x1d' + S0 + inp(bytes(64)) + b'\x00',
    }
    return seeds


def write(target, seeds):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)


GENERATORS = {'fuzz_template': seeds_template, 'fuzz_attrs_blob': seeds_blob,
              'fuzz_mech_params': None, 'fuzz_api': None}

if __name__ == '__main__':
    # Arguments: target names, or target=path-to-binary for the targets that need one.
    for arg in sys.argv[1:] or GENERATORS:
        target, _, binary = arg.partition('=')
        if target in ('fuzz_mech_params', 'fuzz_api'):
            if not binary:
                continue
            write(target, (seeds_mech if target == 'fuzz_mech_params' else seeds_api)(binary))
        else:
            write(target, GENERATORS[target]())
