#!/usr/bin/env python3
"""Runs the independent DPAPI tools impacket, dpapick3 and pypykatz on files and reports in JSON.

docs/dpapi.md §7 describes each tool's API; this driver calls those APIs (not the CLIs, whose
output is meant for people) and reports what each recovered, as hex, so the Rust tests can compare
bytes exactly.

Input: a JSON job on standard input, or as the only argument:

    {"ops": [OP, …]}

Output: one line "ORACLE-RESULT {"results": [RESULT, …]}" on standard output, one RESULT per OP in
order. Anything the tools print themselves goes to standard error. A failing OP (including an
exception inside a tool) gives {"ok": false, "error": "…"} and does not stop the others.

OPs ("tool" is impacket, dpapick3 or pypykatz unless said otherwise):

    {"op": "check"}
        -> {"ok": true, "versions": {"impacket": …, "dpapick3": …, "pypykatz": …}}
    {"op": "masterkey", "tool": T, "file": PATH, "sid": SID, PASSWORD-OR-HASH}
        PASSWORD-OR-HASH is one of
          "password": PW          impacket: deriveKeysFromUser (SHA1, MD4, MD4 protected), first that
                                  works; dpapick3: decryptWithPassword (SHA1, then MD4); pypykatz:
                                  get_prekeys_from_password + decrypt_masterkey_bytes
          "password_1607": PW     dpapick3 only: decryptWithHash(SID, PBKDF2-SHA256(NT, SID, 10000,
                                  32)); dpapick3 does the final 1-round step itself (§7, §8.3)
          "sha1": HEX | "nt": HEX a password hash (e.g. one recovered from CREDHIST); impacket:
                                  deriveKeysFromUserkey; dpapick3: decryptWithHash; pypykatz:
                                  get_prekeys_from_password(sha1_hash= / nt_hash=)
        -> {"ok", "key": HEX64, "kind": "SHA1" | "MD4" | "MD4 protected" (impacket),
            "guid", "flags", "credhist_guid" (impacket: from the file's CREDHIST block)}
    {"op": "blob", "tool": T, "file": PATH, "key": HEX (64-byte master key), "entropy": HEX}
        -> {"ok", "plaintext": HEX}    (ok is false when the tool rejects the blob)
    {"op": "credhist", "tool": "impacket" | "dpapick3", "file": PATH, "password": PW}
        -> {"ok", "entries": [{"sha1": HEX, "nt": HEX, "guid": STR}, …] newest first}
           (ok is true when every entry decrypted; impacket's "guid" is the GUID it names the entry
           by, the one of the NEXT newer credential; dpapick3's GUID text is not canonical, so it is
           omitted)
    {"op": "credential", "tool": T, "file": PATH, "key": HEX (64-byte master key)}
        A Credential Manager file (12-byte header, then a blob) decrypted and its CREDENTIAL read:
        impacket: CredentialFile, DPAPI_BLOB.decrypt, CREDENTIAL_BLOB (as its dpapi.py credential);
        pypykatz: DPAPI.decrypt_credential_bytes with the key cached under the blob's GUID;
        dpapick3: has no CREDENTIAL reader of its own, so its DPAPIBlob decrypts and its Eater
        reads the plaintext as dpapilab-ng's creddec.py does (vaultstruct.CREDENTIAL_DECRYPTED:
        skip the header by its leading size DWORD, then six length-prefixed fields)
        -> {"ok", "target", "username" (text, one terminating NUL removed), "secret": HEX}
    {"op": "adsync_export", "tool": "impacket", "dir": EXPORT, "sid": SID, "password": PW | null}
        adconnectdump's chain over an `adsync-sim export` directory, with impacket's DPAPI and
        nothing of ours: DPAPI_SYSTEM -> the S-1-5-18 machine master keys; the service account's
        master keys from its password (or, with no password, a virtual account's
        HMAC-SHA1(DPAPI_SYSTEM.user, SID+NUL)); the keyset from the Credential Manager file (outer
        user blob -> CREDENTIAL -> inner machine blob) or the registry value (machine blob, or the
        ≤1.1.443 user blob), with the entropy GUID read from the exported database with sqlite3;
        key = keyset[-88:-44][12:]; each encrypted_configuration decrypted with AES-256-CBC.
        -> {"ok", "keyset": HEX, "connectors": [{"ma_type", "ma_name", "password"}, …]}
"""

import contextlib
import hashlib
import json
import sys
import traceback

MARKER = "ORACLE-RESULT "


def read(path):
    with open(path, "rb") as f:
        return f.read()


def hx(b):
    return None if b is None else bytes(b).hex()


def entropy_of(op):
    e = bytes.fromhex(op.get("entropy") or "")
    return e if e else None


def md4(data):
    from Cryptodome.Hash import MD4

    return MD4.new(data).digest()


def stretched_1607_first(password, sid):
    """PBKDF2-SHA256(NT, UTF-16LE(SID), 10000, 32): the part of the 1607+ stretch dpapick3 omits."""
    nt = md4(password.encode("utf-16-le"))
    return hashlib.pbkdf2_hmac("sha256", nt, sid.encode("utf-16-le"), 10000, 32)


def utf16_text(raw):
    """A CREDENTIAL string field as stored (UTF-16LE, NUL-terminated unless empty) as text."""
    raw = bytes(raw)
    if raw.endswith(b"\0\0") and len(raw) % 2 == 0:
        raw = raw[:-2]
    return raw.decode("utf-16-le")


def credential_result(target, username, secret):
    return {
        "ok": True,
        "target": utf16_text(target),
        "username": utf16_text(username),
        "secret": hx(secret),
    }


# ------------------------------------------------------------------------------------------------
# impacket


def impacket_masterkey(op):
    from impacket.dpapi import CredHist, MasterKey, MasterKeyFile, deriveKeysFromUser, deriveKeysFromUserkey
    from impacket.uuid import bin_to_string

    data = read(op["file"])
    header = MasterKeyFile(data)
    data = data[len(header):]
    mk = MasterKey(data[: header["MasterKeyLen"]])
    rest = data[header["MasterKeyLen"] + header["BackupKeyLen"]:]
    credhist_guid = None
    if header["CredHistLen"] > 0:
        credhist_guid = bin_to_string(CredHist(rest[: header["CredHistLen"]])["Guid"]).lower()
    sid = op["sid"]
    if "password" in op:
        candidates = list(zip(["SHA1", "MD4", "MD4 protected"], deriveKeysFromUser(sid, op["password"])))
    elif "sha1" in op:
        candidates = list(zip(["SHA1"], deriveKeysFromUserkey(sid, bytes.fromhex(op["sha1"]))))
    else:
        candidates = list(zip(["MD4", "MD4 protected"], deriveKeysFromUserkey(sid, bytes.fromhex(op["nt"]))))
    out = {
        "ok": False,
        "guid": header["Guid"].decode("utf-16-le"),
        "flags": header["Flags"],
        "credhist_guid": credhist_guid,
    }
    for kind, prekey in candidates:
        key = mk.decrypt(prekey)
        if key:
            out.update(ok=True, key=hx(key), kind=kind)
            break
    return out


def impacket_blob(op):
    from impacket.dpapi import DPAPI_BLOB

    plain = DPAPI_BLOB(read(op["file"])).decrypt(bytes.fromhex(op["key"]), entropy=entropy_of(op))
    return {"ok": plain is not None, "plaintext": hx(plain)}


def impacket_credhist(op):
    from impacket.dpapi import CREDHIST_FILE, deriveKeysFromUser
    from impacket.uuid import bin_to_string

    chf = CREDHIST_FILE(read(op["file"]))
    entries = chf.credhist_entries_list  # newest first
    if not entries:
        return {"ok": True, "entries": []}
    # As impacket's `dpapi.py credhist -password`: find the key that opens the newest entry, then
    # walk the chain with CREDHIST_FILE.decrypt.
    real_key = None
    for k in deriveKeysFromUser(entries[0].sid, op["password"]):
        chf.decrypt_entry_by_index(0, k)
        if entries[0].pwdhash is not None:
            real_key = k
            break
    if real_key is not None:
        chf.decrypt(real_key)
    out = [
        {"sha1": hx(e.pwdhash), "nt": hx(e.nthash), "guid": bin_to_string(e["Guid"]).lower()}
        for e in entries
    ]
    return {"ok": all(e["sha1"] is not None for e in out), "entries": out}


def impacket_credential(op):
    from impacket.dpapi import CREDENTIAL_BLOB, DPAPI_BLOB, CredentialFile

    plain = DPAPI_BLOB(CredentialFile(read(op["file"]))["Data"]).decrypt(bytes.fromhex(op["key"]))
    if plain is None:
        return {"ok": False}
    cred = CREDENTIAL_BLOB(plain)
    # impacket names the secret (CredentialBlob) "Unknown3", like the 8 bytes at 0x28, so
    # cred["Unknown3"] is the secret and those 8 bytes are lost. It calls the first DWORD (the
    # header size, 0x30) "Flags", so its dump() prints REQUIRE_CONFIRMATION|WILDCARD_MATCH
    # for every file; the real CREDENTIAL Flags are its "Flags2". Like pypykatz, it reads attributes
    # right after the secret, without mimikatz's alignment byte after an odd-sized secret.
    return credential_result(cred["Target"], cred["Username"], cred["Unknown3"])


# ------------------------------------------------------------------------------------------------
# dpapick3


def dpapick3_masterkey(op):
    from dpapick3 import masterkey

    m = masterkey.MasterKeyFile(read(op["file"]))
    sid = op["sid"]
    if "password" in op:
        m.decryptWithPassword(sid, op["password"])
    elif "password_1607" in op:
        m.decryptWithHash(sid, stretched_1607_first(op["password_1607"], sid))
    else:
        m.decryptWithHash(sid, bytes.fromhex(op.get("sha1") or op["nt"]))
    ok = bool(m.masterkey.decrypted)
    return {"ok": ok, "key": hx(m.masterkey.key) if ok else None, "guid": m.guid.decode(), "flags": m.policy}


def dpapick3_blob(op):
    from dpapick3 import blob

    b = blob.DPAPIBlob(read(op["file"]))
    ok = bool(b.decrypt(bytes.fromhex(op["key"]), entropy=entropy_of(op)))
    return {"ok": ok, "plaintext": hx(b.cleartext) if ok else None}


def dpapick3_credhist(op):
    from dpapick3 import credhist

    ch = credhist.CredHistFile(read(op["file"]))
    ch.decryptWithPassword(op["password"])
    out = [{"sha1": hx(e.pwdhash), "nt": hx(e.ntlm)} for e in ch.entries_list]  # newest first
    return {"ok": all(e["sha1"] is not None for e in out), "entries": out}


def dpapick3_credential(op):
    import struct

    from dpapick3 import blob
    from dpapick3.eater import Eater

    data = read(op["file"])
    _version, size, _reserved = struct.unpack_from("<LLL", data)
    b = blob.DPAPIBlob(data[12 : 12 + size])
    if not b.decrypt(bytes.fromhex(op["key"])):
        return {"ok": False}
    e = Eater(b.cleartext)
    header_size = e.eat("L")
    e.eat_sub(header_size - 4)
    fields = [e.eat_length_and_string("L") for _ in range(6)]
    target, _alias, _comment, _unknown, username, secret = fields
    return credential_result(target, username, secret)


# ------------------------------------------------------------------------------------------------
# pypykatz


def pypykatz_masterkey(op):
    from pypykatz.dpapi.dpapi import DPAPI

    d = DPAPI()
    if "password" in op:
        d.get_prekeys_from_password(op["sid"], password=op["password"])
    elif "sha1" in op:
        d.get_prekeys_from_password(op["sid"], sha1_hash=op["sha1"])
    else:
        d.get_prekeys_from_password(op["sid"], nt_hash=op["nt"])
    masterkeys, _backupkeys = d.decrypt_masterkey_bytes(read(op["file"]))
    if len(masterkeys) != 1:
        return {"ok": False, "error": "decrypted %d master keys" % len(masterkeys)}
    ((guid, key),) = masterkeys.items()
    return {"ok": True, "key": hx(key), "guid": guid}


def pypykatz_blob(op):
    from pypykatz.dpapi.dpapi import DPAPI

    plain = DPAPI().decrypt_blob_bytes(read(op["file"]), key=bytes.fromhex(op["key"]), entropy=entropy_of(op))
    return {"ok": plain is not None, "plaintext": hx(plain)}


def pypykatz_credential(op):
    from pypykatz.dpapi.dpapi import DPAPI
    from pypykatz.dpapi.structures.credentialfile import CredentialFile

    data = read(op["file"])
    d = DPAPI()
    d.masterkeys[CredentialFile.from_bytes(data).blob.masterkey_guid] = bytes.fromhex(op["key"])
    cred = d.decrypt_credential_bytes(data)

    def raw(field):
        # pypykatz decodes non-empty strings itself (keeping the NUL) but leaves empty ones b"".
        return field if isinstance(field, bytes) else field.encode("utf-16-le")

    # pypykatz names the secret "unknown4" (and the unknown string before UserName "unknown3").
    return credential_result(raw(cred.target), raw(cred.username), cred.unknown4_raw)


# ------------------------------------------------------------------------------------------------


def check(_op):
    from importlib.metadata import version

    import dpapick3.blob  # noqa: F401
    import impacket.dpapi  # noqa: F401
    import pypykatz.dpapi.dpapi  # noqa: F401

    return {"ok": True, "versions": {n: version(n) for n in ("impacket", "dpapick3", "pypykatz")}}


# ------------------------------------------------------------------------------------------------
# adconnectdump's chain over an export


def adsync_export(op):
    import base64
    import glob
    import hmac
    import os
    import re
    import sqlite3
    import uuid

    from Cryptodome.Cipher import AES
    from impacket.dpapi import (
        CREDENTIAL_BLOB,
        DPAPI_BLOB,
        CredentialFile,
        MasterKey,
        MasterKeyFile,
        deriveKeysFromUser,
    )

    root = op["dir"]
    system = read(os.path.join(root, "Windows/System32/config/LSA/DPAPI_SYSTEM"))
    machine_key, user_key = system[4:24], system[24:44]

    def masterkeys(folder, prekeys):
        keys = {}
        for path in glob.glob(os.path.join(folder, "*")):
            name = os.path.basename(path)
            if name in ("Preferred", "CREDHIST") or not os.path.isfile(path):
                continue
            data = read(path)
            header = MasterKeyFile(data)
            mk = MasterKey(data[len(header):][: header["MasterKeyLen"]])
            for k in prekeys:
                key = mk.decrypt(k)
                if key:
                    keys[header["Guid"].decode("utf-16-le").lower()] = key
                    break
        return keys

    def blob_open(blob_bytes, keys, entropy=None):
        blob = DPAPI_BLOB(blob_bytes)
        guid = str(uuid.UUID(bytes_le=bytes(blob["GuidMasterKey"]))).lower()
        key = keys.get(guid)
        if key is None:
            raise ValueError("no master key %s among %s" % (guid, sorted(keys)))
        plain = blob.decrypt(key, entropy=entropy)
        if plain is None:
            raise ValueError("the blob does not open under master key %s" % guid)
        return plain

    machine = masterkeys(os.path.join(root, "Windows/System32/Microsoft/Protect/S-1-5-18"), [machine_key])
    sid = op["sid"]
    if op.get("password") is None:
        prekeys = [hmac.new(user_key, (sid + "\0").encode("utf-16-le"), "sha1").digest()]
    else:
        prekeys = list(deriveKeysFromUser(sid, op["password"]))
    user_folders = glob.glob(os.path.join(root, "**/AppData/Roaming/Microsoft/Protect", sid), recursive=True)
    user = {}
    for f in user_folders:
        user.update(masterkeys(f, prekeys))

    (db,) = glob.glob(os.path.join(root, "Program Files/Microsoft Azure AD Sync/Data/**/ADSync.sqlite"), recursive=True)
    con = sqlite3.connect(db)
    (entropy_text,) = con.execute("SELECT entropy FROM mms_server_configuration").fetchone()
    entropy = uuid.UUID(entropy_text).bytes_le
    rows = con.execute("SELECT ma_type, ma_name, encrypted_configuration FROM mms_management_agent").fetchall()

    creds = glob.glob(os.path.join(root, "**/AppData/Local/Microsoft/Credentials/*"), recursive=True)
    registry = glob.glob(os.path.join(root, "Registry/HKLM/SOFTWARE/Microsoft/Ad Sync/Shared/*/(Default)"))
    if creds:
        cred = CREDENTIAL_BLOB(blob_open(CredentialFile(read(creds[0]))["Data"], user))
        # impacket names the secret "Unknown3" (see impacket_credential).
        keyset = blob_open(cred["Unknown3"], machine, entropy)
    else:
        blob = read(registry[0])
        is_machine = DPAPI_BLOB(blob)["Flags"] & 0x4
        keyset = blob_open(blob, machine if is_machine else user, entropy)
    key = keyset[-88:-44][12:]
    out = []
    for ma_type, ma_name, enc in rows:
        raw = base64.b64decode(enc)
        plain = AES.new(key, AES.MODE_CBC, raw[8:24]).decrypt(raw[24:])
        plain = plain[: -plain[-1]].decode("utf-16-le").rstrip("\0")
        m = re.search(r'<attribute name="[Pp]assword">(.*?)</attribute>', plain, re.S)
        password = m.group(1) if m else None
        if password is not None:
            for a, b in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
                password = password.replace(a, b)
        out.append({"ma_type": ma_type, "ma_name": ma_name, "password": password})
    return {"ok": True, "keyset": hx(keyset), "connectors": out}


HANDLERS = {
    ("adsync_export", "impacket"): adsync_export,
    ("check", None): check,
    ("masterkey", "impacket"): impacket_masterkey,
    ("masterkey", "dpapick3"): dpapick3_masterkey,
    ("masterkey", "pypykatz"): pypykatz_masterkey,
    ("blob", "impacket"): impacket_blob,
    ("blob", "dpapick3"): dpapick3_blob,
    ("blob", "pypykatz"): pypykatz_blob,
    ("credhist", "impacket"): impacket_credhist,
    ("credhist", "dpapick3"): dpapick3_credhist,
    ("credential", "impacket"): impacket_credential,
    ("credential", "dpapick3"): dpapick3_credential,
    ("credential", "pypykatz"): pypykatz_credential,
}


def run(op):
    handler = HANDLERS.get((op.get("op"), op.get("tool")))
    if handler is None:
        return {"ok": False, "error": "unknown op %r / tool %r" % (op.get("op"), op.get("tool"))}
    try:
        result = handler(op)
    except Exception as e:  # a tool that raises has rejected the input
        where = traceback.extract_tb(e.__traceback__)[-1]
        error = "%s: %s (at %s:%d)" % (type(e).__name__, e, where.filename, where.lineno)
        print("oracle.py: %s %s raised %s" % (op.get("tool"), op.get("op"), error), file=sys.stderr)
        return {"ok": False, "error": error}
    result.setdefault("error", None)
    return result


def main():
    text = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.buffer.read().decode("utf-8")
    job = json.loads(text)
    real_stdout = sys.stdout
    # The tools print (impacket's CREDHIST walk, pypykatz); keep standard output for the result.
    with contextlib.redirect_stdout(sys.stderr):
        results = [run(op) for op in job["ops"]]
    real_stdout.write(MARKER + json.dumps({"results": results}) + "\n")
    real_stdout.flush()


if __name__ == "__main__":
    main()
