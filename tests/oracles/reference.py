#!/usr/bin/env python3
"""An independent, from-scratch model of DPAPI that CREATES artefacts for the Rust simulator to open.

It shares no code with sim-core and none with the oracles: only `hashlib`, `hmac` and pycryptodome's
`Cryptodome` ciphers (installed with impacket). Everything follows docs/dpapi.md:

- §1.2 pre-key of a local account: HMAC-SHA1(SHA1(UTF-16LE(pw)), UTF-16LE(SID) || 00 00);
- §1.3 DPAPI's PBKDF2 (the PRF input of round j is the running XOR, not U_{j-1});
- §1.4 / §2.1 master key blocks and files (header, master key block, backup block, CREDHIST block);
- §1.5 / §2.4 blobs: session key, CryptDeriveKey, CBC with a zero IV and PKCS#7, and the sign, with
  the non-RFC HMAC (extra data in the OUTER hash) for SHA-1 blobs.

Usage: a JSON job on standard input (or as the only argument), one JSON result on standard output,
on a line starting with "REFERENCE-RESULT ".

    {"op": "create", "out_dir": DIR, "cases": [
        {"name": "c0", "sid": "S-1-5-21-…", "password": "…", "seed": 1,
         "masterkey": {"alg": "aes256-sha512" | "3des-sha1", "rounds": 8000},
         "blobs": [{"name": "aes", "alg": "aes256-sha512" | "3des-sha1", "plaintext": HEX,
                    "entropy": HEX, "description": "…", "flags": 0}]}]}
    -> {"cases": [{"name", "masterkey": {"path", "guid", "key", "credhist_guid", "flags"},
                   "blobs": [{"name", "path"}]}]}

    {"op": "selftest", "vectors_dir": DIR}
    -> rebuilds the real-Windows blobs and master key blocks of tests/vectors byte for byte
       from their recorded salts: {"checked": [names], "failed": [messages]}
"""

import hashlib
import hmac
import json
import os
import struct
import sys
import uuid

from Cryptodome.Cipher import AES, DES3

MARKER = "REFERENCE-RESULT "

# ALG_IDs (§1.1).
CALG_3DES = 0x6603
CALG_AES_256 = 0x6610
CALG_HMAC = 0x8009
CALG_SHA1 = 0x8004
CALG_SHA_512 = 0x800E

PROVIDER = uuid.UUID("df9d8cd0-1501-11d1-8c7a-00c04fc297eb")

# name -> (hashlib name, digest bytes, hash block bytes)
HASHES = {
    CALG_HMAC: ("sha1", 20, 64),
    CALG_SHA1: ("sha1", 20, 64),
    CALG_SHA_512: ("sha512", 64, 128),
}
# ALG_ID -> (key bytes, block bytes)
CIPHERS = {CALG_3DES: (24, 8), CALG_AES_256: (32, 16)}

# Master key block algorithms and blob algorithms by policy name.
MK_ALGS = {"aes256-sha512": (CALG_SHA_512, CALG_AES_256), "3des-sha1": (CALG_HMAC, CALG_3DES)}
BLOB_ALGS = {
    # (algHash, algCrypt, dwAlgCryptLen bits, salt/HMAC2 key bytes)
    "aes256-sha512": (CALG_SHA_512, CALG_AES_256, 256, 32),
    "3des-sha1": (CALG_SHA1, CALG_3DES, 168, 16),
}


class Drbg:
    """Deterministic bytes from a seed: SHA-256(label | seed | counter). Test randomness only."""

    def __init__(self, seed):
        self.seed = struct.pack("<Q", seed & 0xFFFFFFFFFFFFFFFF)
        self.counter = 0

    def bytes(self, n):
        out = b""
        while len(out) < n:
            self.counter += 1
            out += hashlib.sha256(b"reference.py" + self.seed + struct.pack("<Q", self.counter)).digest()
        return out[:n]


def utf16(s):
    return s.encode("utf-16-le")


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


def with_len(b):
    return u32(len(b)) + b


def H(alg, data):
    return hashlib.new(HASHES[alg][0], data).digest()


def hmac_rfc(alg, key, *parts):
    return hmac.new(key, b"".join(parts), HASHES[alg][0]).digest()


def hmac_outer_extra(alg, key, first, *extra):
    """§1.5 non-RFC HMAC: H((K^opad) || H((K^ipad) || first) || extra…)."""
    block = HASHES[alg][2]
    if len(key) > block:
        key = H(alg, key)
    key = key.ljust(block, b"\0")
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    return H(alg, opad + H(alg, ipad + first) + b"".join(extra))


def dpapi_pbkdf2(alg, password, salt, rounds, length):
    """§1.3: PBKDF2 whose round-j PRF input is the XOR accumulator."""
    name = HASHES[alg][0]
    out = b""
    i = 1
    while len(out) < length:
        acc = hmac.new(password, salt + struct.pack(">I", i), name).digest()
        n = len(acc)
        acc_int = int.from_bytes(acc, "big")
        for _ in range(rounds - 1):
            u = hmac.new(password, acc, name).digest()
            acc_int ^= int.from_bytes(u, "big")
            acc = acc_int.to_bytes(n, "big")
        out += acc
        i += 1
    return out[:length]


def cbc(alg_crypt, key, iv, data, decrypt=False):
    if alg_crypt == CALG_AES_256:
        c = AES.new(key, AES.MODE_CBC, iv=iv)
    else:
        c = DES3.new(key, DES3.MODE_CBC, iv=iv)
    return c.decrypt(data) if decrypt else c.encrypt(data)


def local_prekey(sid, password):
    """§1.2: local account pre-key."""
    sha1 = hashlib.sha1(utf16(password)).digest()
    return hmac.new(sha1, utf16(sid + "\0"), "sha1").digest()


# ------------------------------------------------------------------------------------------------
# Master key files (§1.4, §2.1)


def mk_block(prekey, secret, alg_hash, alg_crypt, rounds, salt, hmac_salt, pad=None):
    """A MASTERKEY block: PBKDF2 key||IV, CBC without padding of hmacSalt|HMAC|pad|secret."""
    key_len, block_len = CIPHERS[alg_crypt]
    mac = hmac_rfc(alg_hash, hmac_rfc(alg_hash, prekey, hmac_salt), secret)
    used = 16 + len(mac) + len(secret)
    pad_len = -used % block_len
    if pad is None:
        pad = b"\0" * pad_len
    assert len(pad) == pad_len
    kiv = dpapi_pbkdf2(alg_hash, prekey, salt, rounds, key_len + block_len)
    ct = cbc(alg_crypt, kiv[:key_len], kiv[key_len:], hmac_salt + mac + pad + secret)
    return u32(2) + salt + u32(rounds) + u32(alg_hash) + u32(alg_crypt) + ct


def mk_file(guid, flags, master_block, backup_block, credhist_guid):
    credhist = u32(3) + credhist_guid.bytes_le
    header = (
        u32(2) + u32(0) + u32(0)
        + utf16(str(guid))  # 36 WCHARs, lowercase, no braces, no NUL
        + u32(0) + u32(0) + u32(flags)
        + u64(len(master_block)) + u64(len(backup_block)) + u64(len(credhist)) + u64(0)
    )
    assert len(header) == 0x80
    return header + master_block + backup_block + credhist


def create_masterkey(sid, password, alg, rounds, rng):
    alg_hash, alg_crypt = MK_ALGS[alg]
    guid = uuid.UUID(bytes=rng.bytes(16), version=4)
    credhist_guid = uuid.UUID(bytes=rng.bytes(16), version=4)
    key = rng.bytes(64)
    prekey = local_prekey(sid, password)
    pad_len = -(16 + HASHES[alg_hash][1] + 64) % CIPHERS[alg_crypt][1]
    master = mk_block(prekey, key, alg_hash, alg_crypt, rounds, rng.bytes(16), rng.bytes(16), rng.bytes(pad_len))
    # The vestigial backup block (§2.1): a random 32-byte secret under a key of our choice (here
    # a random one, never the user pre-key); nobody reads it, but dpapick3 needs it present.
    backup_pad = -(16 + HASHES[alg_hash][1] + 32) % CIPHERS[alg_crypt][1]
    backup = mk_block(rng.bytes(20), rng.bytes(32), alg_hash, alg_crypt, rounds, rng.bytes(16), rng.bytes(16),
                      rng.bytes(backup_pad))
    flags = 5  # local user: SHA-1 password hash (0x4) | backup needs DPAPI_SYSTEM (0x1)
    return {
        "guid": guid,
        "key": key,
        "credhist_guid": credhist_guid,
        "flags": flags,
        "bytes": mk_file(guid, flags, master, backup, credhist_guid),
    }


# ------------------------------------------------------------------------------------------------
# Blobs (§1.5, §2.4)


def keyed(alg_hash, mkh, first, extra, sign):
    """HMAC keyed by SHA1(MK): non-RFC for SHA-1 with extra data (always for the sign)."""
    if HASHES[alg_hash][0] == "sha1" and (sign or any(extra)):
        return hmac_outer_extra(alg_hash, mkh, first, *extra)
    return hmac_rfc(alg_hash, mkh, first, *extra)


def crypt_derive_key(alg_hash, session, key_len):
    """CryptDeriveKey: truncate, or expand with the ipad/opad construction when too short."""
    if len(session) >= key_len:
        return session[:key_len]
    block = HASHES[alg_hash][2]
    padded = session.ljust(block, b"\0")
    k = H(alg_hash, bytes(b ^ 0x36 for b in padded)) + H(alg_hash, bytes(b ^ 0x5C for b in padded))
    return k[:key_len]


def pkcs7(data, block):
    n = block - len(data) % block
    return data + bytes([n]) * n


def seal_blob(mk, mk_guid, plaintext, entropy, description, flags, alg_hash, alg_crypt, crypt_bits, salt, hmac2):
    key_len, block_len = CIPHERS[alg_crypt]
    mkh = hashlib.sha1(mk).digest()
    session = keyed(alg_hash, mkh, salt, [entropy], sign=False)
    key = crypt_derive_key(alg_hash, session, key_len)
    data = cbc(alg_crypt, key, b"\0" * block_len, pkcs7(plaintext, block_len))
    desc = utf16(description) + b"\0\0"
    region = (
        u32(1) + mk_guid.bytes_le + u32(flags)
        + with_len(desc)
        + u32(alg_crypt) + u32(crypt_bits)
        + with_len(salt)
        + with_len(b"")  # pbHmackKey: empty on every blob seen
        + u32(alg_hash) + u32(HASHES[alg_hash][1] * 8)
        + with_len(hmac2)
        + with_len(data)
    )
    sign = keyed(alg_hash, mkh, hmac2, [entropy, region], sign=True)
    return u32(1) + PROVIDER.bytes_le + region + with_len(sign)


def create_blob(mk, mk_guid, spec, rng):
    alg_hash, alg_crypt, bits, salt_len = BLOB_ALGS[spec["alg"]]
    return seal_blob(
        mk, mk_guid, bytes.fromhex(spec["plaintext"]), bytes.fromhex(spec.get("entropy", "")),
        spec.get("description", ""), spec.get("flags", 0), alg_hash, alg_crypt, bits,
        rng.bytes(salt_len), rng.bytes(salt_len),
    )


def op_create(job):
    out_dir = job["out_dir"]
    results = []
    for case in job["cases"]:
        rng = Drbg(case["seed"])
        mk = create_masterkey(case["sid"], case["password"], case["masterkey"]["alg"],
                              case["masterkey"]["rounds"], rng)
        mk_path = os.path.join(out_dir, "%s-%s" % (case["name"], mk["guid"]))
        with open(mk_path, "wb") as f:
            f.write(mk["bytes"])
        blobs = []
        for spec in case.get("blobs", []):
            path = os.path.join(out_dir, "%s-%s.blob" % (case["name"], spec["name"]))
            with open(path, "wb") as f:
                f.write(create_blob(mk["key"], mk["guid"], spec, rng))
            blobs.append({"name": spec["name"], "path": path})
        results.append({
            "name": case["name"],
            "masterkey": {
                "path": mk_path,
                "guid": str(mk["guid"]),
                "key": mk["key"].hex(),
                "credhist_guid": str(mk["credhist_guid"]),
                "flags": mk["flags"],
            },
            "blobs": blobs,
        })
    return {"cases": results}


# ------------------------------------------------------------------------------------------------
# Self-test against the real-Windows vectors (tests/vectors): byte-identical rebuilds.


class Cursor:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        b = self.data[self.pos:self.pos + n]
        assert len(b) == n, "truncated"
        self.pos += n
        return b

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def lp(self):
        return self.take(self.u32())


def rebuild_blob(raw, mk, entropy):
    c = Cursor(raw)
    assert c.u32() == 1
    assert c.take(16) == PROVIDER.bytes_le
    assert c.u32() == 1
    mk_guid = uuid.UUID(bytes_le=c.take(16))
    flags = c.u32()
    description = c.lp().decode("utf-16-le")
    assert description.endswith("\0")
    alg_crypt, bits = c.u32(), c.u32()
    salt = c.lp()
    assert c.lp() == b""
    alg_hash, _ = c.u32(), c.u32()
    hmac2 = c.lp()
    data = c.lp()
    c.lp()
    assert c.pos == len(raw)
    # Decrypt to learn the plaintext, then seal it again from the recorded salt and HMAC2 key.
    mkh = hashlib.sha1(mk).digest()
    key_len, block_len = CIPHERS[alg_crypt]
    key = crypt_derive_key(alg_hash, keyed(alg_hash, mkh, salt, [entropy], False), key_len)
    padded = cbc(alg_crypt, key, b"\0" * block_len, data, decrypt=True)
    plaintext = padded[:-padded[-1]]
    rebuilt = seal_blob(mk, mk_guid, plaintext, entropy, description[:-1], flags, alg_hash, alg_crypt, bits,
                        salt, hmac2)
    return rebuilt, plaintext


def rebuild_mk_block(block, prekey):
    c = Cursor(block)
    assert c.u32() == 2
    salt = c.take(16)
    rounds, alg_hash, alg_crypt = c.u32(), c.u32(), c.u32()
    ct = block[c.pos:]
    key_len, block_len = CIPHERS[alg_crypt]
    kiv = dpapi_pbkdf2(alg_hash, prekey, salt, rounds, key_len + block_len)
    pt = cbc(alg_crypt, kiv[:key_len], kiv[key_len:], ct, decrypt=True)
    hl = HASHES[alg_hash][1]
    return mk_block(prekey, pt[-64:], alg_hash, alg_crypt, rounds, salt, pt[:16], pt[16 + hl:-64]), pt[-64:]


def op_selftest(job):
    vdir = job["vectors_dir"]
    with open(os.path.join(vdir, "vectors.json")) as f:
        vectors = json.load(f)
    checked, failed = [], []
    for name, v in vectors.items():
        if not isinstance(v, dict) or "file" not in v:
            continue
        with open(os.path.join(vdir, v["file"])) as f:
            raw = bytes.fromhex(f.read().strip())
        try:
            if v["kind"] == "masterkey_file" and v.get("password_hash_type") == "sha1":
                prekey = local_prekey(v["sid"], v["password"])
                assert prekey.hex() == v["prekey"], "pre-key"
                mk_len = struct.unpack("<Q", raw[0x60:0x68])[0]
                block = raw[0x80:0x80 + mk_len]
                rebuilt, key = rebuild_mk_block(block, prekey)
                assert key.hex() == v["expected_masterkey"], "master key"
                assert rebuilt == block, "master key block differs"
            elif v["kind"] == "dpapi_blob" or v["kind"].startswith("credential_file"):
                blob = raw[12:] if v["kind"].startswith("credential_file") else raw
                entropy = b"" if v.get("entropy_hex") in (None, "None") else bytes.fromhex(v["entropy_hex"])
                rebuilt, plaintext = rebuild_blob(blob, bytes.fromhex(v["masterkey"]), entropy)
                assert plaintext.hex() == v["expected_plaintext_hex"], "plaintext"
                assert rebuilt == blob, "blob differs"
            else:
                continue
            checked.append(name)
        except Exception as e:  # report every vector, not just the first failure
            failed.append("%s: %s: %s" % (name, type(e).__name__, e))
    return {"checked": checked, "failed": failed}


def main():
    text = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.buffer.read().decode("utf-8")
    job = json.loads(text)
    ops = {"create": op_create, "selftest": op_selftest}
    result = ops[job["op"]](job)
    sys.stdout.write(MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
