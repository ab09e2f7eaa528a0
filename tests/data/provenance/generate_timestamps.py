#!/usr/bin/env python3
"""Regenerates the RFC 3161 timestamp vectors (ts_*_pass, ts_*_fail and ts/) in this directory.

Usage:  python3 tests/data/provenance/generate_timestamps.py
        (needs python3, the openssl CLI and faketime; reuses generate.py's helpers and its bin/)

Timestamp tokens come from `openssl ts -reply` (an independent RFC 3161 implementation), with a
TSA certificate issued by the vectors' own fabric CA (EKU timeStamping, critical) and, for the
--tsa-ca vectors, by an outside CA. Signing in the past is done under faketime. Output:

  ts/ca.pem            the fabric CA of these vectors (its key is thrown away)
  ts/crl.pem           its CRL: revokes the signers of ts_revoked_*
  ts/tsa.pem           the fabric TSA certificate (image-provenance trusted-root --tsa-cert)
  ts/outside-tsa.pem   an outside TSA's certificate followed by its CA (--tsa-ca)
  ts/clock/            a signer valid 2026-01-01..2030-01-01: timestamped.json and
                       untimestamped.json for the faketime test (verifier clock in 2031)
  ts_<name>_pass/, ts_<name>_fail/   one vector each, as generate.py's
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess

import generate as g

HERE = g.HERE
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


class at:
    """Runs the openssl calls inside the block with the clock at `when` (faketime)."""

    def __init__(self, when):
        self.when = when

    def __enter__(self):
        os.environ["LD_PRELOAD"] = FAKETIME_LIB
        os.environ["FAKETIME"] = "@" + self.when
        os.environ["DONT_FAKE_MONOTONIC"] = "1"

    def __exit__(self, *exc):
        for k in ("LD_PRELOAD", "FAKETIME", "DONT_FAKE_MONOTONIC"):
            os.environ.pop(k, None)


def make_tsa(ca, name, cn, start, policy):
    key, cert = g.make_leaf(ca, name, cn, f"URI:urn:fabricbios:timestamp-authority:{name}",
                            "critical,timeStamping", start)
    d = os.path.join(g.TMP, name + "-tsa")
    os.makedirs(d)
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("01\n")
    cnf = os.path.join(d, "tsa.cnf")
    with open(cnf, "w") as f:
        f.write(f"""[tsa]
default_tsa = t
[t]
serial = {d}/serial
crypto_device = builtin
signer_cert = {cert}
signer_key = {key}
signer_digest = sha256
default_policy = {policy}
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""")
    return cnf, cert


def token(tsa_cnf, imprint):
    q = os.path.join(g.TMP, "q.tsq")
    t = os.path.join(g.TMP, "t.der")
    g.sh("openssl", "ts", "-query", "-digest", imprint.hex(), "-sha256", "-cert", "-out", q)
    g.sh("openssl", "ts", "-reply", "-config", tsa_cnf, "-queryfile", q, "-token_out", "-out", t)
    with open(t, "rb") as f:
        return f.read()


def imprint_of(bundle):
    return hashlib.sha256(base64.b64decode(bundle["dsseEnvelope"]["signatures"][0]["sig"])).digest()


def stamped(bundle, *tokens):
    b = json.loads(json.dumps(bundle))
    b["verificationMaterial"]["timestampVerificationData"] = {
        "rfc3161Timestamps": [{"signedTimestamp": g.b64(t)} for t in tokens]}
    return b


def main():
    for entry in os.listdir(HERE):
        if entry.startswith("ts_") or entry == "ts":
            shutil.rmtree(os.path.join(HERE, entry))
    ts = os.path.join(HERE, "ts")
    os.makedirs(os.path.join(ts, "clock"))

    with at("2019-01-01 00:00:00"):
        ca = g.make_ca("tsca", "Vectors Timestamp Fabric CA")
        outside = g.make_ca("outside", "Vectors Outside TSA CA")
    tsa_cnf, tsa_cert = make_tsa(ca, "vectors-tsa", "timestamp-authority vectors-tsa",
                                 "20190101000000Z", "1.3.6.1.4.1.99999.1.15")
    out_cnf, out_cert = make_tsa(outside, "outside-tsa", "Outside TSA", "20190101000000Z",
                                 "1.2.3.4.1")
    shutil.copy(f"{ca}/cert.pem", os.path.join(ts, "ca.pem"))
    shutil.copy(tsa_cert, os.path.join(ts, "tsa.pem"))
    with open(os.path.join(ts, "outside-tsa.pem"), "w") as f:
        f.write(open(out_cert).read() + open(f"{outside}/cert.pem").read())

    urn = "URI:urn:fabricbios:provenance-signer:vectors"
    key, cert = g.make_leaf(ca, "ts-signer", "provenance-signer vectors", urn, "codeSigning")
    old_key, old_cert = g.make_leaf(ca, "ts-old", "provenance-signer old", urn, "codeSigning",
                                    "20200101000000Z", "20210101000000Z")
    rb_key, rb_cert = g.make_leaf(ca, "ts-revoked-before", "provenance-signer revoked", urn,
                                  "codeSigning", "20200101000000Z")
    ra_key, ra_cert = g.make_leaf(ca, "ts-revoked-after", "provenance-signer revoked later", urn,
                                  "codeSigning", "20200101000000Z")
    clk_key, clk_cert = g.make_leaf(ca, "ts-clock", "provenance-signer clock", urn, "codeSigning",
                                    "20260101000000Z", "20300101000000Z")

    fabricbiosd = open(os.path.join(HERE, "bin", "fabricbiosd"), "rb").read()
    scheduler = open(os.path.join(HERE, "bin", "grafos-scheduler"), "rb").read()
    rec = g.record([("/usr/sbin/fabricbiosd", fabricbiosd),
                    ("/usr/bin/grafos-scheduler", scheduler)])
    body = g.compact(g.statement(rec))
    args = ["--ca", "../ts/ca.pem", "--binary", "../bin/fabricbiosd",
            "--binary", "../bin/grafos-scheduler"]

    def vector(name, bundle, status, expect, extra=()):
        g.vector(name, g.dump(bundle), status, expect, args + list(extra))

    good = g.bundle(body, cert, key)
    good_tok = token(tsa_cnf, imprint_of(good))
    vector("ts_good_pass", stamped(good, good_tok), 0, "")
    # Signed and timestamped in 2020 by a signer that expired in 2021: still verifies today.
    with at("2020-06-01 12:00:00"):
        old = g.bundle(body, old_cert, old_key)
        old_tok = token(tsa_cnf, imprint_of(old))
    vector("ts_expired_signer_pass", stamped(old, old_tok), 0, "")
    vector("ts_expired_signer_untimestamped_fail", old, 1, "expired")
    # The same signer timestamped now: after its expiry.
    vector("ts_outside_validity_fail", stamped(old, token(tsa_cnf, imprint_of(old))), 1,
           "outside the signer certificate's validity")
    out_tok = token(out_cnf, imprint_of(good))
    vector("ts_untrusted_tsa_fail", stamped(good, out_tok), 1, "is not trusted")
    vector("ts_outside_tsa_pass", stamped(good, out_tok), 0, "",
           ["--tsa-ca", "../ts/outside-tsa.pem"])
    vector("ts_outside_tsa_wrong_anchor_fail", stamped(good, good_tok), 1, "is not trusted",
           ["--tsa-ca", "../ts/outside-tsa.pem"])
    vector("ts_other_bytes_fail", stamped(good, token(tsa_cnf, hashlib.sha256(b"other").digest())),
           1, "over other bytes")
    vector("ts_duplicated_token_fail", stamped(good, good_tok, good_tok), 1, "duplicates")
    vector("ts_unknown_field_fail",
           dict(stamped(good, good_tok), verificationMaterial=dict(
               stamped(good, good_tok)["verificationMaterial"],
               timestampVerificationData={"rfc3161Timestamps": [], "extra": 1})),
           3, "unexpected field")
    vector("ts_not_a_token_fail", stamped(good, b"\x30\x03\x02\x01\x00"), 3,
           "not one DER CMS ContentInfo")

    # Revocation: one signer timestamped in 2020 then revoked (still verifies), one revoked and
    # then timestamped (refused).
    with at("2020-06-01 12:00:00"):
        ra = g.bundle(body, ra_cert, ra_key)
        ra_tok = token(tsa_cnf, imprint_of(ra))
    cnf = f"{ca}/ca.cnf"
    for c in (rb_cert, ra_cert):
        g.sh("openssl", "ca", "-config", cnf, "-cert", f"{ca}/cert.pem", "-keyfile",
             f"{ca}/key.pem", "-revoke", c)
    crl = os.path.join(ts, "crl.pem")
    g.sh("openssl", "ca", "-config", cnf, "-cert", f"{ca}/cert.pem", "-keyfile", f"{ca}/key.pem",
         "-gencrl", "-crldays", "36500", "-out", crl)
    rb = g.bundle(body, rb_cert, rb_key)
    rb_tok = token(tsa_cnf, imprint_of(rb))
    vector("ts_revoked_before_fail", stamped(rb, rb_tok), 1, "before the timestamp",
           ["--crl", "../ts/crl.pem"])
    vector("ts_revoked_after_pass", stamped(ra, ra_tok), 0, "", ["--crl", "../ts/crl.pem"])
    vector("ts_revoked_untimestamped_fail", ra, 1, "revoked", ["--crl", "../ts/crl.pem"])

    # The faketime test's pair: a signer valid 2026..2030, timestamped now.
    clk = g.bundle(body, clk_cert, clk_key)
    with open(os.path.join(ts, "clock", "untimestamped.json"), "w") as f:
        f.write(g.dump(clk))
    with open(os.path.join(ts, "clock", "timestamped.json"), "w") as f:
        f.write(g.dump(stamped(clk, token(tsa_cnf, imprint_of(clk)))))
    shutil.rmtree(g.TMP)


if __name__ == "__main__":
    main()
