#!/usr/bin/env python3
"""Seconds per impacket master key decryption: benches/compare.sh's reference for row (b).

    impacket_mk.py FILE SID PASSWORD REPS

Times `impacket.dpapi.MasterKey.decrypt(prekey)` (the DPAPI PBKDF2, the CBC decryption and the two
HMACs), with the file parsed and the local-account pre-key HMAC-SHA1(SHA1(UTF-16LE(password)),
UTF-16LE(SID) || 00 00) derived beforehand, as bench-timing's `mk-open` does. Prints the mean over
REPS decryptions; exits 1 if the key does not open.
"""

import hashlib
import hmac
import sys
import time

from impacket.dpapi import MasterKey, MasterKeyFile


def main():
    path, sid, password, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(path, "rb") as f:
        data = f.read()
    header = MasterKeyFile(data)
    mk = MasterKey(data[len(header):][: header["MasterKeyLen"]])
    pwhash = hashlib.sha1(password.encode("utf-16-le")).digest()
    prekey = hmac.new(pwhash, (sid + "\0").encode("utf-16-le"), hashlib.sha1).digest()
    if mk.decrypt(prekey) is None:
        print(f"impacket_mk.py: {path} does not open with that password", file=sys.stderr)
        return 1
    start = time.perf_counter()
    for _ in range(reps):
        mk.decrypt(prekey)
    print(f"{(time.perf_counter() - start) / max(reps, 1):.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
