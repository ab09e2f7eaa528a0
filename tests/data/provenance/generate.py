#!/usr/bin/env python3
"""Regenerates the provenance verification vectors in this directory.

Usage:  python3 tests/data/provenance/generate.py      (needs python3 and the openssl CLI only)

Independently of grafos-ca, this script builds schema_version 1 records, in-toto statements, DSSE
PAE bytes and Sigstore bundle v0.3 files, signs them with `openssl dgst -sha256 -sign`, and makes
certificates with `openssl req` / `openssl ca` (fixed validity windows, so expired and
not-yet-valid signers are possible). Output:

  pki/ca.pem, pki/other-ca.pem     trust anchors (private keys are thrown away)
  bin/                              the "image" binaries the records name
  <name>_pass/, <name>_fail/        one vector each:
      input.json   the record or bundle given to --input
      args         extra verify arguments, one per line (paths relative to the vector directory)
      status       expected exit status of `grafos-ca image-provenance verify`
      expect       a substring the error message must contain (empty for _pass)

ECDSA signatures are randomised, so the bytes differ on every run; what each vector tests does
not. Good signer certificates are valid for 100 years from generation.
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PAYLOAD_TYPE = "application/vnd.in-toto+json"
MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
STATEMENT = "https://in-toto.io/Statement/v1"
PREDICATE = "https://grafos.dev/provenance/image/v1"
TMP = tempfile.mkdtemp(prefix="grafos-vectors-")


def sh(*args, stdin=None):
    return subprocess.run(args, check=True, capture_output=True, input=stdin).stdout


def make_ca(name, cn):
    d = os.path.join(TMP, name)
    os.makedirs(os.path.join(d, "new"))
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write(f"""[ca]
default_ca = ca
[ca]
database = {d}/index.txt
new_certs_dir = {d}/new
serial = {d}/serial
default_md = sha256
policy = pol
unique_subject = no
copy_extensions = none
[pol]
commonName = supplied
""")
    sh("openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem", "-days", "36500",
       "-subj", f"/CN={cn}", "-addext", "basicConstraints=critical,CA:TRUE,pathlen:1",
       "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-addext", "subjectKeyIdentifier=hash")
    return d


def make_leaf(ca, name, cn, san, eku, start="today", end=None):
    """A P-256 leaf; start/end are openssl ca dates (YYYYMMDDHHMMSSZ) or 'today'/None."""
    key = os.path.join(TMP, name + "-key.pem")
    csr = os.path.join(TMP, name + ".csr")
    ext = os.path.join(TMP, name + ".ext")
    out = os.path.join(TMP, name + ".pem")
    sh("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", key, "-out", csr, "-subj", f"/CN={cn}")
    lines = ["[v3]", "basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature",
             "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid:always"]
    if eku:
        lines.append("extendedKeyUsage=" + eku)
    if san:
        lines.append("subjectAltName=" + san)
    with open(ext, "w") as f:
        f.write("\n".join(lines) + "\n")
    args = ["openssl", "ca", "-batch", "-config", f"{ca}/ca.cnf", "-cert", f"{ca}/cert.pem",
            "-keyfile", f"{ca}/key.pem", "-in", csr, "-out", out, "-notext", "-extfile", ext,
            "-extensions", "v3"]
    if start != "today":
        args += ["-startdate", start]
    args += ["-enddate", end] if end else ["-days", "36500"]
    sh(*args)
    return key, out


def der_of(cert_pem):
    return sh("openssl", "x509", "-in", cert_pem, "-outform", "DER")


def pae(ptype, body):
    return b"DSSEv1 %d %s %d %s" % (len(ptype), ptype.encode(), len(body), body)


def sign(key, message):
    path = os.path.join(TMP, "msg")
    with open(path, "wb") as f:
        f.write(message)
    return sh("openssl", "dgst", "-sha256", "-sign", key, path)


def b64(data):
    return base64.b64encode(data).decode()


def compact(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record(binaries):
    return {
        "schema_version": 1,
        "image": {"kind": "lab-debian-image", "name": "grafos-cell-vectors"},
        "source": {"commit": "0123456789abcdef0123456789abcdef01234567", "dirty": False},
        "binaries": [{"path": p, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                     for p, d in binaries],
        "build": {"host": "bake-7", "user": "builder", "time": "2026-11-23T18:00:00Z"},
        "reserved": {"aws": None, "gcp": None, "azure": None, "conformance": None},
    }


def statement(rec):
    return {"_type": STATEMENT,
            "subject": [{"name": b["path"], "digest": {"sha256": b["sha256"]}}
                        for b in rec["binaries"]],
            "predicateType": PREDICATE, "predicate": rec}


def bundle(body, cert, key, ptype=PAYLOAD_TYPE, sig=None):
    if sig is None:
        sig = sign(key, pae(ptype, body))
    return {"mediaType": MEDIA_TYPE,
            "verificationMaterial": {"certificate": {"rawBytes": b64(der_of(cert))},
                                     "tlogEntries": []},
            "dsseEnvelope": {"payload": b64(body), "payloadType": ptype,
                             "signatures": [{"keyid": "", "sig": b64(sig)}]}}


def dump(obj):
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def vector(name, text, status, expect, args=None):
    d = os.path.join(HERE, name)
    os.makedirs(d)
    with open(os.path.join(d, "input.json"), "w", encoding="utf-8") as f:
        f.write(text)
    default = ["--ca", "../pki/ca.pem", "--binary", "../bin/fabricbiosd",
               "--binary", "../bin/grafos-scheduler"]
    with open(os.path.join(d, "args"), "w") as f:
        f.write("\n".join(default if args is None else args) + "\n")
    with open(os.path.join(d, "status"), "w") as f:
        f.write(f"{status}\n")
    with open(os.path.join(d, "expect"), "w") as f:
        f.write(expect + "\n")


def main():
    for entry in os.listdir(HERE):
        if entry.startswith("ts_"):  # generate_timestamps.py's
            continue
        if entry.endswith(("_fail", "_pass")) or entry in ("pki", "bin"):
            shutil.rmtree(os.path.join(HERE, entry))
    os.makedirs(os.path.join(HERE, "pki"))
    os.makedirs(os.path.join(HERE, "bin"))
    fabricbiosd = b"\x7fELF fabricbiosd 1.0\n" + bytes(range(256)) * 8
    scheduler = b"\x7fELF grafos-scheduler 1.0\n" + bytes(reversed(range(256))) * 5
    for name, data in [("fabricbiosd", fabricbiosd), ("grafos-scheduler", scheduler),
                       ("fabricbiosd-changed", fabricbiosd[:-1] + b"\x00"),
                       ("fabricbiosd-truncated", fabricbiosd[:-1])]:
        with open(os.path.join(HERE, "bin", name), "wb") as f:
            f.write(data)
    os.makedirs(os.path.join(HERE, "bin", "a-directory"))
    open(os.path.join(HERE, "bin", "a-directory", ".keep"), "w").close()  # git keeps the dir

    ca = make_ca("ca", "Vectors Fabric CA")
    other = make_ca("other", "Vectors Other CA")
    shutil.copy(f"{ca}/cert.pem", os.path.join(HERE, "pki", "ca.pem"))
    shutil.copy(f"{other}/cert.pem", os.path.join(HERE, "pki", "other-ca.pem"))
    urn = "URI:urn:fabricbios:provenance-signer:vectors"
    key, cert = make_leaf(ca, "signer", "provenance-signer vectors", urn, "codeSigning")
    key2, cert2 = make_leaf(ca, "signer2", "provenance-signer vectors2",
                            "URI:urn:fabricbios:provenance-signer:vectors2", "codeSigning")
    exp_key, exp_cert = make_leaf(ca, "expired", "provenance-signer old", urn, "codeSigning",
                                  "20200101000000Z", "20210101000000Z")
    nyv_key, nyv_cert = make_leaf(ca, "future", "provenance-signer future", urn, "codeSigning",
                                  "21000101000000Z", "21100101000000Z")
    oth_key, oth_cert = make_leaf(other, "othersigner", "provenance-signer vectors", urn,
                                  "codeSigning")
    ten_key, ten_cert = make_leaf(ca, "tenant", "acme", "URI:urn:fabricbios:tenant:acme",
                                  "clientAuth")
    nourn_key, nourn_cert = make_leaf(ca, "nourn", "codesigner", "URI:urn:fabricbios:tenant:x",
                                      "codeSigning")
    srv_key, srv_cert = make_leaf(ca, "server", "provenance-signer vectors", urn, "serverAuth")

    rec = record([("/usr/sbin/fabricbiosd", fabricbiosd),
                  ("/usr/bin/grafos-scheduler", scheduler)])
    body = compact(statement(rec))
    good = bundle(body, cert, key)
    good_text = dump(good)

    def with_body(new_body, k=key, c=cert, ptype=PAYLOAD_TYPE):
        return dump(bundle(new_body, c, k, ptype))

    def edited(fn):
        b = json.loads(good_text)
        fn(b)
        return dump(b)

    def stmt_edit(fn):
        st = statement(json.loads(json.dumps(rec)))
        fn(st)
        return compact(st)

    # Passing vectors: the harness must also be able to succeed.
    vector("good_pass", good_text, 0, "")
    der_sig = base64.b64decode(good["dsseEnvelope"]["signatures"][0]["sig"])
    asn = sh("openssl", "asn1parse", "-inform", "DER", stdin=der_sig).decode().splitlines()
    ints = [line.split(":")[-1] for line in asn if "INTEGER" in line]
    raw = b"".join(bytes.fromhex(i.rjust(64, "0")) for i in ints)
    vector("good_raw_rs_signature_pass", dump(bundle(body, cert, key, sig=raw)), 0, "")
    vector("good_record_without_ca_pass", dump(rec), 0, "",
           ["--binary", "../bin/fabricbiosd", "--binary", "../bin/grafos-scheduler"])

    # Signature and envelope.
    vector("bad_signature_fail", dump(bundle(body, cert, key, sig=sign(key, pae(PAYLOAD_TYPE, body + b" ")))),
           1, "signature does not verify")
    flipped = json.loads(good_text)
    flipped["dsseEnvelope"]["payload"] = b64(body.replace(b"bake-7", b"bake-8"))
    vector("flipped_payload_fail", dump(flipped), 1, "signature does not verify")
    sig = bytearray(der_sig)
    sig[-3] ^= 0x01
    vector("flipped_signature_fail", dump(bundle(body, cert, key, sig=bytes(sig))), 1,
           "signature does not verify")
    vector("swapped_signer_fail", dump(bundle(body, cert2, key, sig=der_sig)), 1,
           "signature does not verify")
    vector("missing_signature_fail", edited(lambda b: b["dsseEnvelope"].update(signatures=[])),
           1, "no signature")
    vector("empty_signature_fail",
           edited(lambda b: b["dsseEnvelope"]["signatures"][0].update(sig="")), 1, "empty")
    vector("two_signatures_fail",
           edited(lambda b: b["dsseEnvelope"]["signatures"].append(
               b["dsseEnvelope"]["signatures"][0])), 1, "exactly one")
    vector("wrong_payload_type_fail", with_body(body, ptype="application/json"), 1, "payloadType")
    vector("bad_base64_fail",
           edited(lambda b: b["dsseEnvelope"].update(payload="!" + b["dsseEnvelope"]["payload"][1:])),
           3, "base64")
    # Set an unused low bit before the padding: decodes to the same bytes, but is not canonical.
    # (A DER signature of 72 bytes has no padding; sign again until it has.)
    nc_sig = der_sig
    while len(nc_sig) % 3 == 0:
        nc_sig = sign(key, pae(PAYLOAD_TYPE, body))
    s = b64(nc_sig)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    i = len(s.rstrip("=")) - 1
    nc = s[:i] + alphabet[alphabet.index(s[i]) ^ 1] + s[i + 1:]
    assert base64.b64decode(nc) == nc_sig
    vector("noncanonical_base64_fail",
           edited(lambda b: b["dsseEnvelope"]["signatures"][0].update(sig=nc)), 3, "canonical")
    vector("wrong_media_type_fail",
           edited(lambda b: b.update(mediaType="application/vnd.dev.sigstore.bundle+json;version=0.1")),
           3, "mediaType")
    vector("tlog_entries_fail",
           edited(lambda b: b["verificationMaterial"].update(tlogEntries=[{"logIndex": "1"}])),
           3, "tlogEntries")
    vector("unknown_field_fail", edited(lambda b: b["dsseEnvelope"].update(extra=True)), 3,
           "unexpected field")
    vector("cert_not_der_fail",
           edited(lambda b: b["verificationMaterial"]["certificate"].update(rawBytes=b64(b"not a cert"))),
           3, "DER")

    # Signer certificates.
    vector("expired_signer_fail", with_body(body, exp_key, exp_cert), 1, "expired")
    vector("not_yet_valid_signer_fail", with_body(body, nyv_key, nyv_cert), 1, "not yet valid")
    vector("wrong_root_fail", with_body(body, oth_key, oth_cert), 1, "does not chain")
    vector("client_auth_signer_fail", with_body(body, ten_key, ten_cert), 1, "codeSigning")
    vector("server_auth_signer_fail", with_body(body, srv_key, srv_cert), 1, "codeSigning")
    vector("no_urn_signer_fail", with_body(body, nourn_key, nourn_cert), 1, "provenance-signer")
    vector("ca_as_signer_fail", with_body(body, f"{ca}/key.pem", f"{ca}/cert.pem"), 1,
           "trust anchor")
    vector("other_ca_given_fail", good_text, 1, "does not chain",
           ["--ca", "../pki/other-ca.pem", "--binary", "../bin/fabricbiosd",
            "--binary", "../bin/grafos-scheduler"])

    # Payload (validly signed).
    vector("wrong_predicate_type_fail",
           with_body(stmt_edit(lambda st: st.update(predicateType="https://slsa.dev/provenance/v1"))),
           1, "predicateType")
    vector("wrong_statement_type_fail",
           with_body(stmt_edit(lambda st: st.update(_type="https://in-toto.io/Statement/v0.1"))),
           1, "Statement v1")
    vector("subject_mismatch_fail",
           with_body(stmt_edit(lambda st: st["subject"][0]["digest"].update(sha256="0" * 64))),
           1, "subject[0]")
    vector("unknown_schema_version_fail",
           with_body(stmt_edit(lambda st: st["predicate"].update(schema_version=2))), 3,
           "unknown schema_version")
    dup_rec = json.loads(json.dumps(rec))
    dup_rec["binaries"].append(dict(dup_rec["binaries"][0]))
    vector("duplicate_paths_fail", with_body(compact(statement(dup_rec))), 3,
           "duplicate binary path")
    dup_body = b'{"_type":"' + STATEMENT.encode() + b'",' + body[1:]
    vector("duplicate_keys_in_payload_fail", with_body(dup_body), 3, "duplicate JSON key")

    # JSON framing of the bundle.
    vector("duplicate_keys_fail", '{"mediaType": "x",' + good_text.lstrip()[1:], 3,
           "duplicate JSON key")
    vector("trailing_bytes_fail", good_text + "{}", 3, "malformed JSON")
    vector("nul_then_document_fail", good_text + "\0{\"mediaType\": \"x\"}\n", 3, "NUL byte")
    vector("byte_order_mark_fail", "\ufeff" + good_text, 3, "byte-order mark")
    vector("truncated_fail", good_text[: len(good_text) // 2], 3, "malformed JSON")

    # Trust and invocation.
    vector("unsigned_record_with_ca_fail", dump(rec), 1, "unsigned record")
    vector("bundle_without_ca_fail", good_text, 2, "pass --ca",
           ["--binary", "../bin/fabricbiosd", "--binary", "../bin/grafos-scheduler"])
    vector("override_count_fail", good_text, 2, "order-matched",
           ["--ca", "../pki/ca.pem", "--binary", "../bin/fabricbiosd"])

    # Binaries on disk.
    vector("digest_mismatch_fail", good_text, 1, "do not match",
           ["--ca", "../pki/ca.pem", "--binary", "../bin/fabricbiosd-changed",
            "--binary", "../bin/grafos-scheduler"])
    vector("truncated_binary_fail", good_text, 1, "do not match",
           ["--ca", "../pki/ca.pem", "--binary", "../bin/fabricbiosd-truncated",
            "--binary", "../bin/grafos-scheduler"])
    vector("missing_binary_fail", good_text, 1, "do not match",
           ["--ca", "../pki/ca.pem", "--binary", "../bin/no-such-binary",
            "--binary", "../bin/grafos-scheduler"])
    vector("directory_binary_fail", good_text, 1, "do not match",
           ["--ca", "../pki/ca.pem", "--binary", "../bin/a-directory",
            "--binary", "../bin/grafos-scheduler"])
    vector("swapped_binaries_fail", good_text, 1, "do not match",
           ["--ca", "../pki/ca.pem", "--binary", "../bin/grafos-scheduler",
            "--binary", "../bin/fabricbiosd"])
    shutil.rmtree(TMP)


if __name__ == "__main__":
    main()
