#!/usr/bin/env python3
"""An independent reader and writer of the ADSync credential artefacts, for the Rust tests.

It shares no code with sim-core. It reads the way the public tools read (docs/adsync.md §3):

- adconnectdump (decrypt.py / adconnectdump.py): key = keyset[-88:-44][12:], base64-decode the
  column, IV = [8:24], AES-256-CBC over [24:], strip the padding with s[:-s[-1]], decode UTF-16LE,
  strip trailing NULs, parse the XML with ElementTree and take attribute[@name='Password'] or
  attribute[@name='password']; the user from .//parameter[@name='forest-login-user'] /
  [@name='forest-login-domain'] when the configuration mentions forest-login-user, otherwise
  .//parameter[@name='UserName']; the instance and keyset id from the credential target split at
  '_' (parts[3] without its braces, parts[4]);
- AADInternals (AADSyncSettings.ps1): Parse-KeySetBlob (version at 4, id at 8 and the GUID at 12
  as .NET reads them, ALG_ID at 80, key length at 84, key at 88) and Get-SyncEncryptionKey's
  check that the id equals the number after the target's last '_' and the GUID the instance;
  adma-configuration/forest-login-user and -domain as elements; MAConfig/parameter-values/
  parameter[0] as the Entra user.

It also writes artefacts for sim-core to read: a keyset laid out from the §3.3 table, and an
encrypted_configuration made as AADInternals' New-DecryptedConfigPassword makes one (compact XML,
SecurityElement.Escape, UTF-16LE, AES-CBC with PKCS#7), behind a header of
u32 (IV + ciphertext length), u32 8.

Only the standard library and pycryptodome's `Cryptodome` (installed with impacket).

Usage: a JSON job {"ops": [OP, …]} on standard input (or as the only argument); one line
"ADSYNC-REFERENCE-RESULT {"results": [RESULT, …]}" on standard output, one RESULT per OP. A failing
OP gives {"ok": false, "error": "…"} and does not stop the others.

    {"op": "check"} -> {"ok": true, "pycryptodomex": VERSION}
    {"op": "recover", "keyset": HEX, "target": STR, "instance_id": STR,
     "private_configuration": STR, "encrypted_configuration": B64}
        -> {"ok", "password", "attribute_name", "header": HEX, "kind": "AD" | "Entra",
            "user", "domain" (adconnectdump's XPath), "user_element", "domain_element",
            "entra_user_first" (AADInternals), "target_instance", "target_keyset",
            "keyset": {"version", "id", "guid", "alg", "key_len", "matches_target"}}
    {"op": "encrypt", "key": HEX, "iv": HEX, "name": STR, "password": STR} -> {"ok", "b64"}
    {"op": "make_keyset", "instance_id": STR, "id": INT, "key1": HEX, "key2": HEX} -> {"ok", "hex"}
"""

import base64
import json
import struct
import sys
import traceback
import uuid
import xml.etree.ElementTree as ET

import Cryptodome
from Cryptodome.Cipher import AES

MARKER = "ADSYNC-REFERENCE-RESULT "
CALG_AES_256 = 0x6610


def unpad(s):
    # adconnectdump's unpad: it trusts the last byte.
    return s[: -s[-1]]


def pkcs7(data):
    n = 16 - len(data) % 16
    return data + bytes([n]) * n


def security_element_escape(s):
    # .NET SecurityElement.Escape: the five characters XML reserves.
    return (
        s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


def parse_keyset(data):
    # AADInternals Parse-KeySetBlob: skip "MMSK", then Int32 fields; the GUID as new Guid(byte[]).
    version, ident = struct.unpack_from("<ii", data, 4)
    guid = uuid.UUID(bytes_le=bytes(data[12:28]))
    alg, key_len = struct.unpack_from("<ii", data, 80)
    return {
        "magic": data[:4].decode("latin-1"),
        "version": version,
        "id": ident,
        "guid": str(guid),
        "alg": alg,
        "key_len": key_len,
        "key": data[88 : 88 + key_len],
    }


def recover(op):
    keyblob = bytes.fromhex(op["keyset"])
    target = op["target"]
    instance = op["instance_id"].lower()

    # adconnectdump processCredentialFile: the target split at '_'.
    parts = target.split("_")
    target_instance = parts[3][1:-1].lower()
    target_keyset = parts[4]

    # AADInternals Get-SyncEncryptionKey + Parse-KeySetBlob.
    ks = parse_keyset(keyblob)
    matches = (
        instance in target.lower()
        and ks["id"] == int(target.split("_")[4])
        and ks["guid"] == instance
        and ks["magic"] == "MMSK"
    )

    # adconnectdump DumpSecrets.decrypt.
    key2 = keyblob[-88:-44]
    dcrypt = base64.b64decode(op["encrypted_configuration"])
    iv = dcrypt[8:24]
    cryptdata = dcrypt[24:]
    cipher = AES.new(key2[12:], AES.MODE_CBC, iv)
    drecord = unpad(cipher.decrypt(cryptdata)).decode("utf-16-le").rstrip("\x00")
    ctree = ET.fromstring(drecord)
    fpw = None
    name = None
    for candidate in ("Password", "password"):
        el = ctree.find(".//attribute[@name='%s']" % candidate)
        if el is not None:
            fpw = el.text if el.text is not None else ""
            name = candidate

    data = op["private_configuration"]
    dtree = ET.fromstring(data)
    out = {
        "ok": fpw is not None,
        "password": fpw,
        "attribute_name": name,
        "header": dcrypt[:8].hex(),
        "target_instance": target_instance,
        "target_keyset": target_keyset,
        "keyset": {
            "version": ks["version"],
            "id": ks["id"],
            "guid": ks["guid"],
            "alg": ks["alg"],
            "key_len": ks["key_len"],
            "key": ks["key"].hex(),
            "matches_target": matches,
        },
    }
    if "forest-login-user" in data:
        out["kind"] = "AD"
        el = dtree.find(".//parameter[@name='forest-login-domain']")
        out["domain"] = el.text if el is not None else None
        el = dtree.find(".//parameter[@name='forest-login-user']")
        out["user"] = el.text if el is not None else None
        # AADInternals: ([xml]$ADConfig).'adma-configuration'.'forest-login-user'
        if dtree.tag == "adma-configuration":
            el = dtree.find("forest-login-user")
            out["user_element"] = el.text if el is not None else None
            el = dtree.find("forest-login-domain")
            out["domain_element"] = el.text if el is not None else None
    else:
        out["kind"] = "Entra"
        el = dtree.find(".//parameter[@name='UserName']")
        out["user"] = el.text if el is not None else None
        # AADInternals: ([xml]$AADConfig).MAConfig.'parameter-values'.parameter[0].'#text'
        if dtree.tag == "MAConfig":
            values = dtree.find("parameter-values")
            params = values.findall("parameter") if values is not None else []
            out["entra_user_first"] = params[0].text if params else None
    return out


def encrypt(op):
    # AADInternals New-DecryptedConfigPassword, then the header and IV in front.
    escaped = security_element_escape(op["password"])
    name = security_element_escape(op["name"])
    xml = '<encrypted-attributes><attribute name="%s">%s</attribute></encrypted-attributes>' % (
        name,
        escaped,
    )
    iv = bytes.fromhex(op["iv"])
    ct = AES.new(bytes.fromhex(op["key"]), AES.MODE_CBC, iv).encrypt(pkcs7(xml.encode("utf-16-le")))
    blob = struct.pack("<II", len(iv) + len(ct), 8) + iv + ct
    return {"ok": True, "b64": base64.b64encode(blob).decode("ascii")}


def make_keyset(op):
    # `docs/adsync.md` §3.3, field by field.
    out = b"MMSK"
    out += struct.pack("<II", 1, op["id"])
    out += uuid.UUID(op["instance_id"]).bytes_le
    out += bytes(20)
    out += struct.pack("<II", 44, 44)
    out += bytes(20)
    for k in (op["key1"], op["key2"]):
        key = bytes.fromhex(k)
        out += bytes([0x08, 0x02, 0x00, 0x00]) + struct.pack("<II", CALG_AES_256, len(key)) + key
    assert len(out) == 164, len(out)
    return {"ok": True, "hex": out.hex()}


def run(op):
    kind = op.get("op")
    if kind == "check":
        return {"ok": True, "pycryptodomex": Cryptodome.__version__}
    if kind == "recover":
        return recover(op)
    if kind == "encrypt":
        return encrypt(op)
    if kind == "make_keyset":
        return make_keyset(op)
    return {"ok": False, "error": "unknown op %r" % kind}


def main():
    text = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.buffer.read().decode("utf-8")
    job = json.loads(text)
    results = []
    for op in job.get("ops", []):
        try:
            results.append(run(op))
        except Exception as e:  # one bad op must not hide the others
            traceback.print_exc(file=sys.stderr)
            results.append({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
    sys.stdout.write(MARKER + json.dumps({"results": results}) + "\n")


if __name__ == "__main__":
    main()
