#include "pki/lifecycle.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <set>
#include <sstream>

#include "grafos_config.h"
#include "pki/ceremony.hpp"
#include "pki/crl.hpp"
#include "pki/issuer.hpp"
#include "util/file_io.hpp"

namespace grafos::pki {
namespace {

using nlohmann::json;

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2026-12-01T10:00:00Z" exactly (UTC, seconds, no fraction).
Result<std::int64_t> parse_utc(const std::string& s) {
  std::tm tm{};
  std::istringstream in(s);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  if (s.size() != 20 || in.fail() || in.peek() != EOF)
    return make_error(Errc::usage, "time '" + s.substr(0, 40) +
                                       "' is not RFC 3339 UTC like 2026-12-01T10:00:00Z");
  return static_cast<std::int64_t>(timegm(&tm));
}

// Lowercase hex without 0x or leading zeros, as serial_hex() prints serials.
Result<std::string> canonical_serial(std::string s) {
  if (s.starts_with("0x") || s.starts_with("0X")) s.erase(0, 2);
  if (s.empty() || s.size() > 40 ||
      !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c); }))
    return make_error(Errc::usage, "serial '" + s.substr(0, 48) +
                                       "' is not 1-40 hex digits (with or without 0x)");
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // As serial_hex() prints it (BN_bn2hex): no leading zero bytes, whole bytes ("043b...").
  auto nz = s.find_first_not_of('0');
  s = nz == std::string::npos ? std::string("0") : s.substr(nz);
  if (s.size() % 2) s.insert(0, "0");
  return s;
}

// Hex SHA-256 of `n` bytes at `p`.
std::string sha256_hex(const unsigned char* p, int n) {
  unsigned char md[32];
  unsigned int len = 0;
  if (EVP_Digest(p, static_cast<size_t>(n), md, &len, EVP_sha256(), nullptr) != 1) return {};
  return to_hex(std::span<const unsigned char>(md, len));
}

std::string host() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// Appends `entries` and a checkpoint signed by the CA key, and keeps the transcript's size in
// the ledger (transcript verify then names a transcript cut shorter than that).
Result<std::string> record(CaMemory& m, hsm::Signer& signer, std::size_t count,
                           const std::function<json(std::size_t)>& entry,
                           std::vector<std::string>& notes) {
  auto r = append_to_transcript(m.transcript, m.origin, signer, count, entry);
  if (!r) return std::move(r).error().context("recording in the transcript");
  if (r->torn_bytes)
    notes.push_back("the transcript's last line was cut short by an interrupted run; " +
                    std::to_string(r->torn_bytes) + " bytes were removed before appending");
  if (auto s = m.ledger->set_meta("transcript_size", std::to_string(r->tree.size)); !s)
    return s.error();
  return r->checkpoint;
}

Result<std::string> record(CaMemory& m, hsm::Signer& signer, json entry,
                           std::vector<std::string>& notes) {
  return record(
      m, signer, 1, [&](std::size_t) { return std::move(entry); }, notes);
}

}  // namespace

std::string utc(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::string> spki_sha256(EVP_PKEY* key) {
  auto md = public_key_sha256(key);
  if (!md) return md.error();
  return to_hex(*md);
}

Result<CaMemory> open_ca_memory(const std::string& ca_cert, const std::string& ledger,
                                bool create) {
  CaMemory m;
  auto ca = read_ca_certificate(ca_cert);
  if (!ca) return std::move(ca).error();
  m.ca = std::move(*ca);
  auto spki = spki_sha256(X509_get0_pubkey(m.ca.get()));
  if (!spki) return spki.error();
  std::filesystem::path path =
      ledger.empty() ? Ledger::default_path(ca_cert) : std::filesystem::path(ledger);
  std::error_code ec;
  bool existed = std::filesystem::exists(path, ec);
  if (!existed && !create)
    return make_error(
        Errc::file_missing,
        "no ledger at " + path.string() + " (name the CA's ledger, or issue a certificate first)");
  auto l = Ledger::open(path, x509_sha256_fingerprint(m.ca.get()), *spki, create);
  if (!l) return std::move(l).error();
  if (!existed)
    m.notes.push_back("created the ledger " + path.string() +
                      ": this CA had none, so certificates it issued before are not in it");
  m.ledger = std::move(*l);
  m.transcript = default_transcript_path(ca_cert);
  m.origin = transcript_origin(m.ca.get());
  return m;
}

json transcript_entry(std::string_view op, std::string_view key_ref) {
  json e = {{"op", op},
            {"time", utc(now_s())},
            {"host", host()},
            {"tool", std::string("grafos-ca ") + GRAFOS_VERSION}};
  if (!key_ref.empty()) e["key"] = hsm::redact_key_ref(key_ref);
  return e;
}

Result<RevokeResponse> revoke_certificate(const RevokeRequest& req,
                                          const hsm::Interaction& interaction) {
  if (req.serial.empty() == req.cert.empty())
    return make_error(Errc::usage, "give exactly one of a serial or a certificate file");
  auto reason = parse_revocation_reason(req.reason);
  if (!reason) return reason.error();
  std::optional<std::int64_t> invalidity;
  if (!req.invalidity_date.empty()) {
    auto t = parse_utc(req.invalidity_date);
    if (!t) return t.error();
    if (*t > now_s())
      return make_error(Errc::usage,
                        "the invalidity date " + req.invalidity_date + " is in the future");
    invalidity = *t;
  }
  if (req.ca_key.empty())
    return make_error(Errc::usage,
                      "the CA key is needed to sign the transcript checkpoint of the revocation");
  auto m = open_ca_memory(req.ca_cert, req.ledger, true);
  if (!m) return std::move(m).error();
  std::string serial;
  if (!req.cert.empty()) {
    auto pem = read_file(req.cert, 1024 * 1024);
    if (!pem) return std::move(pem).error();
    auto cert = x509_from_pem(*pem);
    if (!cert) return std::move(cert).error().context("reading " + req.cert);
    if (X509_NAME_cmp(X509_get_issuer_name(cert->get()), X509_get_subject_name(m->ca.get())) != 0 ||
        X509_verify(cert->get(), X509_get0_pubkey(m->ca.get())) != 1) {
      drain_ossl_errors();
      return make_error(Errc::invalid_input, req.cert + " was not issued by this CA");
    }
    serial = serial_hex(cert->get());
  } else {
    auto s = canonical_serial(req.serial);
    if (!s) return s.error();
    serial = *s;
  }
  // Open the key before changing anything: a wrong PIN leaves the ledger as it was.
  auto issuer = load_issuer(X509Ptr(X509_dup(m->ca.get())), req.ca_key, interaction);
  if (!issuer) return std::move(issuer).error();
  RevokeResponse out;
  out.notes = std::move(m->notes);
  // The ledger's revocation commits only after the transcript recorded it: a run killed in
  // between leaves the certificate unrevoked (the transcript shows the attempt), never revoked
  // without its transcript entry.
  auto tx = m->ledger->begin();
  if (!tx) return tx.error();
  auto row = m->ledger->revoke(serial, *reason, now_s(), invalidity);
  if (!row) return row.error();
  out.entry = *row;
  json e = transcript_entry("revoke", req.ca_key);
  e["serial"] = row->serial;
  e["identity"] = row->identity;
  e["reason"] = revocation_reason_name(*reason);
  if (invalidity) e["invalidity_date"] = utc(*invalidity);
  auto cp = record(*m, issuer->signer(), std::move(e), out.notes);
  if (!cp) return cp.error();
  if (auto c = tx->commit(); !c) return c.error();
  out.checkpoint = *cp;
  return out;
}

namespace {

// True when the certificate reserved as `e` is on disk at its recorded path: the same serial and
// TBS, signed by `ca`.
bool written_to_disk(const LedgerEntry& e, X509* ca);

}  // namespace

Result<VoidResponse> void_reserved_serial(const VoidRequest& req,
                                          const hsm::Interaction& interaction) {
  if (req.ca_key.empty())
    return make_error(Errc::usage,
                      "the CA key is needed to sign the transcript checkpoint of the change");
  auto serial = canonical_serial(req.serial);
  if (!serial) return serial.error();
  auto m = open_ca_memory(req.ca_cert, req.ledger, false);
  if (!m) return std::move(m).error();
  auto row = m->ledger->find(*serial);
  if (!row) return row.error();
  if (*row && (*row)->state == CertState::reserved && written_to_disk(**row, m->ca.get()))
    return make_error(Errc::invalid_input,
                      "serial " + *serial + " was written to " + (*row)->path +
                          ": it was issued, not void (a repairing ledger check confirms it)");
  auto issuer = load_issuer(X509Ptr(X509_dup(m->ca.get())), req.ca_key, interaction);
  if (!issuer) return std::move(issuer).error();
  VoidResponse out;
  out.notes = std::move(m->notes);
  // As with revoke: the ledger's change commits only after the transcript recorded it.
  auto tx = m->ledger->begin();
  if (!tx) return tx.error();
  auto e = m->ledger->void_reserved(*serial);
  if (!e) return e.error();
  out.entry = *e;
  json t = transcript_entry("void", req.ca_key);
  t["serial"] = e->serial;
  t["identity"] = e->identity;
  if (!req.note.empty()) t["statement"] = req.note;
  auto cp = record(*m, issuer->signer(), std::move(t), out.notes);
  if (!cp) return cp.error();
  if (auto c = tx->commit(); !c) return c.error();
  out.checkpoint = *cp;
  return out;
}

Result<GenCrlResponse> generate_crl(const GenCrlRequest& req, const hsm::Interaction& interaction) {
  if (req.next_update_days < 1 || req.next_update_days > 366)
    return make_error(Errc::usage, "next update must be 1-366 days");
  if (req.out.empty()) return make_error(Errc::usage, "no output file for the CRL");
  std::error_code ec;
  if (!req.force &&
      std::filesystem::symlink_status(req.out, ec).type() != std::filesystem::file_type::not_found)
    return make_error(Errc::exists, req.out.string() + " already exists");
  auto m = open_ca_memory(req.ca_cert, req.ledger, true);
  if (!m) return std::move(m).error();
  auto issuer = load_issuer(X509Ptr(X509_dup(m->ca.get())), req.ca_key, interaction);
  if (!issuer) return std::move(issuer).error();
  GenCrlResponse out;
  out.notes = std::move(m->notes);
  LedgerFilter revoked, reserved;
  revoked.state = CertState::revoked;
  reserved.state = CertState::reserved;
  auto r1 = m->ledger->list(revoked);
  if (!r1) return r1.error();
  auto r2 = m->ledger->list(reserved);
  if (!r2) return r2.error();
  out.revoked = r1->size();
  out.reserved = r2->size();
  if (out.reserved)
    out.notes.push_back(std::to_string(out.reserved) +
                        (out.reserved == 1 ? " reserved serial is" : " reserved serials are") +
                        " listed as possibly issued (see ledger check)");
  CrlRequest c;
  c.ca = m->ca.get();
  c.revoked = std::move(*r1);
  c.revoked.insert(c.revoked.end(), r2->begin(), r2->end());
  c.this_update = now_s();
  c.next_update = c.this_update + std::int64_t{req.next_update_days} * 86400;
  // The number is taken (durably) before signing: a run that fails later leaves a gap, never a
  // number used twice.
  auto number = m->ledger->next_crl_number();
  if (!number) return number.error();
  c.crl_number = *number;
  auto crl = build_crl(c, issuer->signer());
  if (!crl) return crl.error();
  auto pem = crl_to_pem(crl->get());
  if (!pem) return pem.error();
  WriteOptions wo;
  wo.overwrite = req.force;
  if (auto w = write_file_atomic(req.out, *pem, wo); !w) return w.error();
  out.path = req.out;
  out.crl_number = c.crl_number;
  out.this_update = utc(c.this_update);
  out.next_update = utc(c.next_update);
  json e = transcript_entry("gen-crl", req.ca_key);
  e["crl_number"] = c.crl_number;
  e["entries"] = c.revoked.size();
  e["next_update"] = out.next_update;
  e["path"] = req.out.string();
  e["sha256"] = to_hex(std::string_view(*pem));
  auto cp = record(*m, issuer->signer(), std::move(e), out.notes);
  if (!cp) return cp.error();
  out.checkpoint = *cp;
  return out;
}

Result<std::vector<LedgerEntry>> list_certificates(const ListCertsRequest& req,
                                                   std::vector<std::string>& notes) {
  LedgerFilter f;
  if (!req.state.empty()) {
    auto s = parse_cert_state(req.state);
    if (!s) return s.error();
    f.state = *s;
  }
  if (!req.role.empty()) {
    std::string names;
    for (Role r :
         {Role::ca, Role::tenant, Role::fabric_observer, Role::fabric_admin, Role::cell,
          Role::server, Role::provenance_signer, Role::intermediate, Role::timestamp_authority}) {
      if (req.role == role_name(r)) f.role = req.role;
      names += (names.empty() ? "" : ", ") + std::string(role_name(r));
    }
    if (!f.role)
      return make_error(Errc::usage,
                        "role '" + req.role.substr(0, 40) + "' is not one of " + names);
  }
  if (req.expiring_within_days) {
    if (*req.expiring_within_days < 0 || *req.expiring_within_days > 36500)
      return make_error(Errc::usage, "expiring-within must be 0-36500 days");
    f.not_after_before = now_s() + std::int64_t{*req.expiring_within_days} * 86400;
  }
  auto m = open_ca_memory(req.ca_cert, req.ledger, true);
  if (!m) return std::move(m).error();
  notes = std::move(m->notes);
  auto rows = m->ledger->list(f);
  if (!rows) return rows.error();
  if (req.expiring_within_days) {
    // Expiring: still valid now and not revoked.
    std::int64_t now = now_s();
    std::erase_if(*rows, [&](const LedgerEntry& e) {
      return e.not_after < now || e.state == CertState::revoked || e.state == CertState::voided;
    });
  }
  return rows;
}

namespace {

// Hex SHA-256 of the DER TBSCertificate of `cert`.
std::string tbs_sha256(X509* cert) {
  unsigned char* der = nullptr;
  int n = i2d_re_X509_tbs(cert, &der);
  if (n <= 0) {
    drain_ossl_errors();
    return {};
  }
  std::string out = sha256_hex(der, n);
  OPENSSL_free(der);
  return out;
}

bool written_to_disk(const LedgerEntry& e, X509* ca) {
  if (e.path.empty()) return false;
  auto pem = read_file(e.path, 1024 * 1024);
  if (!pem) return false;
  auto cert = x509_from_pem(*pem);
  if (!cert) return false;
  bool ok = serial_hex(cert->get()) == e.serial && tbs_sha256(cert->get()) == e.tbs_sha256 &&
            X509_verify(cert->get(), X509_get0_pubkey(ca)) == 1;
  drain_ossl_errors();
  return ok;
}

}  // namespace

Result<LedgerCheckResponse> check_ledger(const LedgerCheckRequest& req,
                                         const hsm::Interaction& interaction) {
  auto m = open_ca_memory(req.ca_cert, req.ledger, false);
  if (!m) return std::move(m).error();
  LedgerCheckResponse out;
  auto integrity = m->ledger->integrity_problems();
  if (!integrity) return integrity.error();
  for (auto& p : *integrity) out.problems.push_back("database: " + p);
  auto rows = m->ledger->list({});
  if (!rows) return rows.error();
  out.rows = rows->size();
  std::vector<IssuedCert> recovered;
  for (auto& e : *rows) {
    if (e.path.empty()) {
      if (e.state == CertState::reserved) out.orphans.push_back(e);
      continue;
    }
    auto pem = read_file(e.path, 1024 * 1024);
    X509Ptr cert;
    if (pem)
      if (auto c = x509_from_pem(*pem)) cert = std::move(*c);
    bool same = cert && serial_hex(cert.get()) == e.serial;  // else moved or replaced since
    if (e.state == CertState::voided) {
      if (written_to_disk(e, m->ca.get()))
        out.problems.push_back("serial " + e.serial + " is void (confirmed never issued), but " +
                               e.path + " holds its certificate, signed by this CA");
      continue;
    }
    if (e.state == CertState::reserved) {
      // On disk, with the TBS that was reserved: the run that wrote it was killed before
      // confirming. Signed by this CA, or it is not ours.
      if (same && tbs_sha256(cert.get()) == e.tbs_sha256 &&
          X509_verify(cert.get(), X509_get0_pubkey(m->ca.get())) == 1) {
        out.recoverable.push_back(e);
        recovered.push_back(
            IssuedCert{e.serial, x509_sha256_fingerprint(cert.get()), e.role, e.identity, e.path});
      } else {
        drain_ossl_errors();
        out.orphans.push_back(e);
      }
      continue;
    }
    // A row revoked while still reserved was never confirmed: no hash to compare.
    if (same && !e.cert_sha256.empty() && x509_sha256_fingerprint(cert.get()) != e.cert_sha256)
      out.problems.push_back("serial " + e.serial + ": " + e.path +
                             " does not hash to the SHA-256 the ledger recorded");
  }
  if (!req.repair_key.empty() && !recovered.empty()) {
    auto issuer = load_issuer(X509Ptr(X509_dup(m->ca.get())), req.repair_key, interaction);
    if (!issuer) return std::move(issuer).error();
    auto rec = IssuanceRecorder::open(req.ca_cert, m->ca.get(), req.ledger, req.repair_key);
    if (!rec) return std::move(rec).error();
    auto cp = rec->confirm("issue-recovered", recovered, issuer->signer());
    if (!cp) return std::move(cp).error().context("confirming the recovered certificates");
    out.confirmed = std::move(out.recoverable);
    out.recoverable.clear();
    out.notes = std::move(rec->notes());
  }
  return out;
}

Result<TranscriptReport> check_transcript(const TranscriptCheckRequest& req) {
  auto ca = read_ca_certificate(req.ca_cert);
  if (!ca) return std::move(ca).error();
  std::filesystem::path path = req.transcript.empty() ? default_transcript_path(req.ca_cert)
                                                      : std::filesystem::path(req.transcript);
  std::optional<std::string> saved;
  if (!req.checkpoint.empty()) {
    auto s = read_file(req.checkpoint, 64 * 1024);
    if (!s) return std::move(s).error();
    // Copied off a terminal or out of jq, a note may carry extra newlines at its end.
    while (s->size() >= 2 && s->ends_with("\n\n")) s->pop_back();
    saved = *s;
  }
  auto rep =
      verify_transcript(path, transcript_origin(ca->get()), X509_get0_pubkey(ca->get()), saved);
  if (!rep) return rep;
  // Cross-check with the ledger, when there is one.
  std::filesystem::path lpath =
      req.ledger.empty() ? Ledger::default_path(req.ca_cert) : std::filesystem::path(req.ledger);
  std::error_code ec;
  if (!std::filesystem::exists(lpath, ec)) return rep;
  auto m = open_ca_memory(req.ca_cert, lpath.string(), false);
  if (!m) return std::move(m).error();
  std::set<std::string> issued, revoked, voided;
  for (auto& e : rep->parsed) {
    auto op = e.value("op", "");
    auto serial = e.value("serial", "");
    if (op == "issue" || op == "issue-recovered" || op == "init-ca") issued.insert(serial);
    if (op == "revoke") revoked.insert(serial);
    if (op == "void") voided.insert(serial);
  }
  auto rows = m->ledger->list({});
  if (!rows) return rows.error();
  for (auto& r : *rows) {
    // Confirmed rows (a certificate hash) have their issue entry; a reserved row revoked before
    // it was confirmed (a run killed after signing) may have none.
    if (!r.cert_sha256.empty() && !issued.count(r.serial))
      rep->problems.push_back("ledger: serial " + r.serial + " (" + r.identity +
                              ") is issued but the transcript has no issue entry for it");
    if (r.state == CertState::revoked && !revoked.count(r.serial))
      rep->problems.push_back("ledger: serial " + r.serial +
                              " is revoked but the transcript has no revoke entry for it");
    if (r.state == CertState::voided && !voided.count(r.serial))
      rep->problems.push_back("ledger: serial " + r.serial +
                              " is void but the transcript has no void entry for it");
    if (r.state != CertState::voided && voided.count(r.serial))
      rep->problems.push_back("ledger: serial " + r.serial + " is " +
                              std::string(cert_state_name(r.state)) +
                              " but the transcript voided it");
  }
  auto size = m->ledger->meta("transcript_size");
  if (size && *size && std::strtoull((*size)->c_str(), nullptr, 10) > rep->entries)
    rep->problems.push_back("the ledger recorded a transcript of " + **size +
                            " entries, but it has " + std::to_string(rep->entries) +
                            " (the transcript was truncated)");
  return rep;
}

namespace {

// The ledger row of a built (signed or not) certificate.
Result<LedgerEntry> row_for(X509* cert, const Identity& id) {
  LedgerEntry e;
  e.serial = serial_hex(cert);
  e.role = std::string(role_name(id.role));
  e.identity = identity_label(id);
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  e.subject = std::string("CN=") + cn;
  std::string san;
  if (auto* gens = static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); ++i) {
      GENERAL_NAME* g = sk_GENERAL_NAME_value(gens, i);
      BioPtr bio(BIO_new(BIO_s_mem()));
      if (!bio || GENERAL_NAME_print(bio.get(), g) != 1) continue;
      std::string text = bio_to_string(bio.get());
      if (text.starts_with("IP Address:")) text = "IP:" + text.substr(11);
      san += (san.empty() ? "" : ",") + text;
    }
    GENERAL_NAMES_free(gens);
  }
  e.san = san;
  auto t = [](const ASN1_TIME* a) {
    std::tm tm{};
    return ASN1_TIME_to_tm(a, &tm) == 1 ? static_cast<std::int64_t>(timegm(&tm)) : 0;
  };
  e.not_before = t(X509_get0_notBefore(cert));
  e.not_after = t(X509_get0_notAfter(cert));
  // X509_get0_pubkey is null on a certificate built for output (pki/issuer.hpp): hash the SPKI
  // as encoded in the certificate.
  X509_PUBKEY* xpk = X509_get_X509_PUBKEY(cert);
  unsigned char* der = nullptr;
  int n = xpk ? i2d_X509_PUBKEY(xpk, &der) : -1;
  if (n <= 0) return ossl_error(Errc::crypto, "encoding a certificate's public key");
  e.spki_sha256 = sha256_hex(der, n);
  OPENSSL_free(der);
  unsigned char* tbs = nullptr;
  n = i2d_re_X509_tbs(cert, &tbs);
  if (n <= 0) return ossl_error(Errc::crypto, "encoding a certificate's TBS");
  e.tbs_sha256 = sha256_hex(tbs, n);
  OPENSSL_free(tbs);
  e.reserved_at = now_s();
  return e;
}

}  // namespace

IssuedCert IssuedCert::of(X509* cert, const Identity& id, std::filesystem::path path) {
  return IssuedCert{serial_hex(cert), x509_sha256_fingerprint(cert),
                    std::string(role_name(id.role)), identity_label(id), std::move(path)};
}

Result<IssuanceRecorder> IssuanceRecorder::open(const std::string& ca_cert, X509* ca,
                                                const std::string& ledger, std::string key_ref) {
  auto m = open_ca_memory(ca_cert, ledger, true);
  if (!m) return std::move(m).error();
  if (X509_cmp(m->ca.get(), ca) != 0)
    return make_error(Errc::internal, "the CA certificate changed while it was being read");
  return IssuanceRecorder(std::move(*m), std::move(key_ref));
}

Result<void> IssuanceRecorder::reserve(X509* tbs, const Identity& id,
                                       const std::filesystem::path& path) {
  auto row = row_for(tbs, id);
  if (!row) return row.error();
  row->path = path.string();
  return memory_.ledger->reserve(*row);
}

Result<void> IssuanceRecorder::reserve_all(const std::vector<Pending>& tbs) {
  auto tx = memory_.ledger->begin();
  if (!tx) return tx.error();
  for (const auto& p : tbs)
    if (auto r = reserve(p.tbs, *p.identity, p.path); !r) return r;
  return tx->commit();
}

void IssuanceRecorder::release(const std::vector<std::string>& serials) {
  for (auto& s : serials) (void)memory_.ledger->release(s);
}

Result<std::string> IssuanceRecorder::confirm(std::string_view op,
                                              const std::vector<IssuedCert>& certs,
                                              hsm::Signer& signer) {
  // One ledger transaction for the transcript's size and the confirmations (one commit, one
  // sync). As with revoke, it commits only after the transcript recorded the issuance: a run
  // killed in between leaves the rows reserved, and ledger check --repair confirms them.
  auto tx = memory_.ledger->begin();
  if (!tx) return tx.error();
  auto cp = record(
      memory_, signer, certs.size(),
      [&](std::size_t i) {
        const IssuedCert& c = certs[i];
        json e = transcript_entry(op, key_ref_);
        e["serial"] = c.serial;
        e["role"] = c.role;
        e["identity"] = c.identity;
        e["sha256"] = c.sha256;
        e["path"] = c.path.string();
        return e;
      },
      memory_.notes);
  if (!cp) return cp.error();
  std::int64_t now = now_s();
  for (const auto& c : certs)
    if (auto u = memory_.ledger->confirm(c.serial, c.sha256, c.path.string(), now); !u)
      return u.error();
  if (auto u = tx->commit(); !u) return u.error();
  return cp;
}

Result<std::string> record_new_ca(const std::filesystem::path& ca_cert_path, X509* ca,
                                  std::string_view key_ref, hsm::Signer& signer,
                                  std::vector<std::string>& notes) {
  auto ledger = Ledger::default_path(ca_cert_path);
  auto transcript = default_transcript_path(ca_cert_path);
  std::string fp = x509_sha256_fingerprint(ca);
  // A replaced CA's ledger and transcript are evidence: keep them, renamed, never overwrite.
  std::error_code ec;
  for (const auto& p : {ledger, transcript}) {
    if (!std::filesystem::exists(p, ec)) continue;
    auto old = p;
    old += ".replaced-" + std::to_string(now_s());
    std::filesystem::rename(p, old, ec);
    if (ec)
      return make_error(Errc::io, "keeping the replaced CA's " + p.string() + ": " + ec.message());
    for (const char* suffix : {"-wal", "-shm"}) {
      auto side = p;
      side += suffix;
      if (std::filesystem::exists(side, ec)) {
        auto side_old = old;
        side_old += suffix;
        std::filesystem::rename(side, side_old, ec);
      }
    }
    notes.push_back("kept the replaced CA's " + p.filename().string() + " as " + old.string());
  }
  auto spki = spki_sha256(X509_get0_pubkey(ca));
  if (!spki) return spki.error();
  auto l = Ledger::open(ledger, fp, *spki, true);
  if (!l) return std::move(l).error();
  CaMemory m;
  m.ledger = std::move(*l);
  m.transcript = transcript;
  m.origin = transcript_origin(ca);
  LedgerEntry row;
  row.serial = serial_hex(ca);
  row.role = "ca";
  row.identity = "ca";
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof cn);
  row.subject = std::string("CN=") + cn;
  row.spki_sha256 = *spki;
  row.tbs_sha256 = fp;
  row.reserved_at = now_s();
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notBefore(ca), &tm) == 1) row.not_before = timegm(&tm);
  if (ASN1_TIME_to_tm(X509_get0_notAfter(ca), &tm) == 1) row.not_after = timegm(&tm);
  if (auto r = m.ledger->reserve(row); !r) return r.error();
  json e = transcript_entry("init-ca", key_ref);
  e["serial"] = row.serial;
  e["subject"] = row.subject;
  e["sha256"] = fp;
  e["path"] = ca_cert_path.string();
  auto cp = record(m, signer, std::move(e), notes);
  if (!cp) return cp.error();
  if (auto r = m.ledger->confirm(row.serial, fp, ca_cert_path.string(), now_s()); !r)
    return r.error();
  return cp;
}

}  // namespace grafos::pki
