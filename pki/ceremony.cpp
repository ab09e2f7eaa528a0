#include "pki/ceremony.hpp"

#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <unordered_map>

#include "hsm/load_key.hpp"
#include "pki/csr.hpp"
#include "pki/lifecycle.hpp"
#include "pki/lint.hpp"
#include "util/file_io.hpp"
#include "util/secret.hpp"

namespace grafos::pki {
namespace fs = std::filesystem;
namespace {

// Refuses a symlink or directory at `path` always, and an existing file unless `force`.
Result<void> check_output(const fs::path& path, bool force) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return ok();
    if (errno == ENOTDIR)
      return Error{Errc::invalid_input, "'" + path.parent_path().string() + "' is not a directory"};
    return Error{Errc::io, "cannot inspect '" + path.string() + "': " + std::strerror(errno)};
  }
  if (S_ISLNK(st.st_mode))
    return Error{Errc::invalid_input,
                 "'" + path.string() + "' is a symbolic link; refusing to write through it"};
  if (!S_ISREG(st.st_mode))
    return Error{Errc::invalid_input, "'" + path.string() + "' exists and is not a regular file"};
  if (!force) return Error{Errc::exists, "refusing to overwrite existing '" + path.string() + "'"};
  return ok();
}

// The ledger side of one issuance: the serial is reserved (durably) just before the key signs,
// through the issuer's hook, and released again when the run fails before the certificate was
// written; keep() once it is on disk, after which a failure leaves the row reserved (possibly
// issued, as ledger check reports).
class LedgerReservation {
 public:
  LedgerReservation(IssuanceRecorder& recorder, Issuer& issuer, const Identity& id, fs::path path)
      : recorder_(recorder) {
    issuer.set_before_sign([this, &id, path = std::move(path)](X509* tbs) -> Result<void> {
      if (auto r = recorder_.reserve(tbs, id, path); !r) return r;
      serial_ = serial_hex(tbs);
      return ok();
    });
  }
  LedgerReservation(const LedgerReservation&) = delete;
  LedgerReservation& operator=(const LedgerReservation&) = delete;
  ~LedgerReservation() {
    if (!serial_.empty()) recorder_.release({serial_});
  }
  void keep() { serial_.clear(); }

 private:
  IssuanceRecorder& recorder_;
  std::string serial_;
};

// Checks that `dir` is a directory or does not exist yet (it is created when writing).
Result<void> check_out_dir(const fs::path& dir, std::string_view name) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return ok();
    if (errno == ENOTDIR)  // a parent of the output folder is a file
      return Error{Errc::invalid_input, std::string(name) + " '" + dir.string() +
                                            "': a parent of it exists and is not a directory"};
    return Error{Errc::io, "cannot inspect '" + dir.string() + "': " + std::strerror(errno)};
  }
  if (!S_ISDIR(st.st_mode))
    return Error{Errc::invalid_input,
                 std::string(name) + " '" + dir.string() + "' exists and is not a directory"};
  return ok();
}

// Batch folders: one mkdir(2) per identity (the umask may narrow 0755); an existing entry must be a
// real directory (the pre-check already refused symlinks).
Result<bool> make_batch_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return true;
  int e = errno;
  struct stat st;
  if (e == EEXIST && ::lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return false;
  if (e == EEXIST)
    return Error{Errc::invalid_input, "'" + dir.string() + "' exists and is not a directory"};
  return Error{Errc::io, "creating directory '" + dir.string() + "': " + std::strerror(e)};
}

std::string subject_text(X509* cert) {
  X509_NAME* n = X509_get_subject_name(cert);
  int idx = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
  if (idx < 0) return {};
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, idx));
  return "CN=" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             static_cast<size_t>(ASN1_STRING_length(s)));
}

WrittenCert describe(X509* cert, const Identity& id) {
  WrittenCert w;
  w.role = id.role;
  w.identity = identity_label(id);
  w.subject = subject_text(cert);
  w.serial = serial_hex(cert);
  w.sha256 = x509_sha256_fingerprint(cert);
  w.not_before = rfc3339(X509_get0_notBefore(cert));
  w.not_after = rfc3339(X509_get0_notAfter(cert));
  w.san = san_strings(cert);
  return w;
}

Result<EvpPkeyPtr> new_leaf_key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return ossl_error(Errc::crypto, "generating an EC P-256 key");
  return key;
}

struct Wiped {
  std::string s;
  ~Wiped() { OPENSSL_cleanse(s.data(), s.size()); }
};

}  // namespace

std::pair<std::string, std::string> output_names(Role role) {
  switch (role) {
    case Role::ca:
      return {"ca.pem", "ca-key.pem"};
    case Role::server:
      return {"server.pem", "server-key.pem"};
    default:
      return {"client.pem", "client-key.pem"};
  }
}

Result<X509Ptr> read_ca_certificate(const std::string& ca_cert, std::string_view name) {
  auto pem = read_file(ca_cert, 1024 * 1024);
  if (!pem) return std::move(pem).error().context("reading " + std::string(name));
  auto cert = x509_from_pem(*pem);
  if (!cert)
    return std::move(cert).error().context("reading " + std::string(name) + " '" + ca_cert + "'");
  return cert;
}

namespace {

// SoftHSM's file object store rewrites token.object at every login (truncate, then write): a
// process killed between the two leaves the token uninitialised and its keys lost. Recognised
// from the module's own C_GetInfo, not from its file name.
void warn_if_softhsm(std::string_view key_ref, const hsm::Interaction& interaction) {
  if (!interaction.warn || hsm::classify_key_ref(key_ref) != hsm::Backend::pkcs11) return;
  auto info = hsm::pkcs11_module_info(key_ref);
  if (info.manufacturer.find("SoftHSM") == std::string::npos &&
      info.description.find("SoftHSM") == std::string::npos)
    return;
  interaction.warn(
      "the CA key is in SoftHSM, whose file store is not crash-safe (a process killed while it "
      "rewrites token.object can lose every key in the token): keep a backup copy of the token "
      "folder, and use a real HSM or a TPM for a production CA");
}

}  // namespace

Result<Issuer> load_issuer(X509Ptr ca_cert, const std::string& ca_key,
                           const hsm::Interaction& interaction) {
  auto key = hsm::load_key({.ref = ca_key,
                            .certificate = ca_cert.get(),
                            .certificate_name = "the CA certificate",
                            .interaction = interaction,
                            .certificate_path = {}});
  if (!key) return std::move(key).error().context("loading the CA key");
  warn_if_softhsm(ca_key, interaction);
  return Issuer::create(std::move(ca_cert), std::move(key->signer));
}

Result<Issuer> load_issuer(const std::string& ca_cert, const std::string& ca_key,
                           const hsm::Interaction& interaction) {
  auto cert = read_ca_certificate(ca_cert);
  if (!cert) return std::move(cert).error();
  return load_issuer(std::move(*cert), ca_key, interaction);
}

Result<WrittenCert> init_ca(const InitCaRequest& req, const hsm::Interaction& interaction) {
  auto id = make_ca_identity(req.common_name, req.path_len);
  if (!id) return std::move(id).error();
  if (auto r = check_days(req.days); !r) return r.error();
  if (auto r = check_out_dir(req.out, req.names.out); !r) return r.error();
  const fs::path cert_path = req.out / "ca.pem";
  if (auto r = check_output(cert_path, req.force); !r) return r.error();

  const std::string key_ref = req.key.empty() ? (req.out / "ca-key.pem").string() : req.key;
  // Every directory this run makes (--out and its missing parents; the key backend makes the key
  // file's own) is removed again if the run fails, and its entry made durable if it succeeds.
  CreatedDirectories made;
  // The key is made first (in a file, a token or a TPM) through its backend's create_key: a run
  // that fails after making it takes it back (discard_created_key), so that a failed init-ca
  // leaves nothing behind, a replaced key file put back included.
  std::unique_ptr<hsm::KeyManager> key_manager;
  bool key_is_file = false;
  auto undo = [&](Error e) {
    if (!key_manager) {
      made.remove();
      return e;
    }
    if (auto d = key_manager->discard_created_key(); !d)
      e.message += "; the CA key this run created could not be removed again (" +
                   d.error().message + "): remove it, or rerun with " + req.names.replace_key;
    else
      e.message += req.replace_key && !key_is_file
                       ? "; the CA key this run created was removed again (the key it replaced "
                         "had been destroyed by " +
                             req.names.replace_key + ")"
                       : "; the CA key this run created was removed again";
    made.remove();
    return e;
  };
  if (auto r = made.create(req.out); !r) return r.error();
  auto km = hsm::open_key_manager(key_ref, interaction);
  if (!km) return undo(std::move(km).error().context("creating the CA key"));
  key_is_file = (*km)->backend() == hsm::Backend::file;
  // A key file is replaced with --force like ca.pem; a token object only with --replace-key.
  auto signer = (*km)->create_key(
      {.ref = key_ref, .replace = key_is_file ? req.force : req.replace_key, .label = {}});
  if (!signer) {
    Error e = std::move(signer).error();
    if (!key_is_file) e = std::move(e).context("creating the CA key");
    return undo(std::move(e));
  }
  key_manager = std::move(*km);
  warn_if_softhsm(key_ref, interaction);
  auto c = create_ca_certificate(*id, **signer, req.days);
  if (!c) {
    signer->reset();  // no signer of a key may outlive its discard
    return undo(std::move(c).error().context("signing the CA certificate"));
  }
  X509Ptr cert = std::move(*c);

  auto cert_pem = x509_to_pem(cert.get());
  if (!cert_pem) return undo(std::move(cert_pem).error());
  FileTransaction tx;
  Result<void> r =
      tx.stage(cert_path, *cert_pem, {.mode = 0644, .overwrite = req.force, .durable = true});
  if (r) r = tx.commit();
  if (!r) {
    tx.abort();
    signer->reset();
    return undo(std::move(r).error());
  }
  if (auto s = made.sync(); !s)  // the files are in place: the key stays with them
    return std::move(s).error().context("ca.pem was written");
  // The CA's memory: a new ledger with the CA as its first row, and the transcript's first entry
  // and checkpoint (a replaced CA's are kept under another name).
  std::vector<std::string> notes;
  auto cp = record_new_ca(cert_path, cert.get(), key_ref, **signer, notes);
  signer->reset();
  if (!cp)
    return std::move(cp).error().context(
        "ca.pem and its key were written, but the ledger and "
        "transcript were not");
  WrittenCert d = describe(cert.get(), *id);
  d.checkpoint = *cp;
  d.notes = std::move(notes);
  d.certificate = cert_path;
  if (key_is_file) d.private_key = key_ref;
  d.key_ref = hsm::redact_key_ref(key_ref);
  return d;
}

Result<WrittenCert> issue_leaf(const LeafRequest& req, const hsm::Interaction& interaction) {
  const Identity& id = req.identity;
  if (id.role == Role::ca) return Error{Errc::internal, "issue_leaf cannot issue a CA"};
  const int days = req.days.value_or(profile_for(id).default_days);
  if (auto r = check_days(days); !r) return r.error();
  auto [cert_name, key_name] = output_names(id.role);
  const fs::path cert_path = req.out / cert_name;
  const fs::path key_path = req.out / key_name;
  const bool with_csr = !req.csr.empty();
  if (auto r = check_out_dir(req.out, req.names.out); !r) return r.error();
  if (auto r = check_output(cert_path, req.force); !r) return r.error();
  if (!with_csr)
    if (auto r = check_output(key_path, req.force); !r) return r.error();

  // Everything that needs no CA key first: the CSR, the CA certificate's validity.
  EvpPkeyPtr subject_key;
  if (with_csr) {
    auto data = read_file(req.csr, 1024 * 1024);
    if (!data) return std::move(data).error().context("reading " + req.names.csr);
    auto k = csr_public_key(*data);
    if (!k) return std::move(k).error().context(req.names.csr + " '" + req.csr + "'");
    subject_key = std::move(*k);
  }
  auto ca = read_ca_certificate(req.ca_cert, req.names.ca_cert);
  if (!ca) return std::move(ca).error();
  if (auto r = check_validity_within_ca(ca->get(), days); !r) return r.error();

  auto issuer = load_issuer(std::move(*ca), req.ca_key, interaction);
  if (!issuer) return std::move(issuer).error();
  if (!with_csr) {
    auto k = new_leaf_key();
    if (!k) return std::move(k).error();
    subject_key = std::move(*k);
  }
  // The ledger: the serial is reserved (durably) before the key signs; it is confirmed after
  // the files are durable, or released when this run fails before anything left it.
  auto recorder =
      IssuanceRecorder::open(req.ca_cert, issuer->certificate(), req.ledger, req.ca_key);
  if (!recorder) return std::move(recorder).error().context("opening the CA's ledger");
  LedgerReservation reservation(*recorder, *issuer, id, cert_path);
  auto cert = issuer->issue(id, subject_key.get(), days);
  if (!cert) return std::move(cert).error();

  auto cert_pem = x509_to_pem(cert->get());
  if (!cert_pem) return std::move(cert_pem).error();
  Wiped key_pem;
  if (!with_csr) {
    auto k = private_key_to_pem(subject_key.get());
    if (!k) return std::move(k).error();
    key_pem.s = std::move(*k);
  }
  CreatedDirectories made;  // --out and its missing parents: removed on failure, else durable
  FileTransaction tx;
  Result<void> r = made.create(req.out);
  if (r && !with_csr) r = tx.stage(key_path, key_pem.s, {.mode = 0600, .overwrite = req.force});
  if (r) r = tx.stage(cert_path, *cert_pem, {.mode = 0644, .overwrite = req.force});
  if (r) r = tx.commit();
  if (!r) {
    tx.abort();
    made.remove();
    return std::move(r).error();
  }
  // The certificate is on disk: from here a failure leaves its row reserved (possibly issued).
  reservation.keep();
  if (auto s = made.sync(); !s) return std::move(s).error().context(cert_name + " was written");
  auto cp =
      recorder->confirm("issue", {IssuedCert::of(cert->get(), id, cert_path)}, issuer->signer());
  if (!cp)
    return std::move(cp).error().context(cert_name +
                                         " was written but its ledger row stays "
                                         "reserved (ledger check reports it)");
  WrittenCert w = describe(cert->get(), id);
  w.certificate = cert_path;
  if (!with_csr) w.private_key = key_path;
  w.checkpoint = *cp;
  w.notes = std::move(recorder->notes());
  return w;
}

std::string batch_folder_name(const Identity& id) {
  switch (id.role) {
    case Role::tenant:
      return "tenant-" + id.name;
    case Role::fabric_observer:
      return "fabric-observer";
    case Role::fabric_admin:
      return "fabric-admin";
    case Role::cell:
      return "cell-" + id.provider + "-" + std::to_string(id.cell_id);
    case Role::provenance_signer:
      return "provenance-signer-" + id.name;
    case Role::timestamp_authority:
      return "timestamp-authority-" + id.name;
    case Role::server:
      return "server-" + (id.server_sans.empty() ? std::string() : id.server_sans[0].value);
    case Role::ca:
    case Role::peer:
    case Role::intermediate:
      return {};
  }
  return {};
}

Result<std::vector<BatchEntry>> parse_batch(std::string_view text) {
  std::vector<BatchEntry> out;
  std::vector<Error> bad;  // every bad line, in file order: one run reports them all
  std::unordered_map<std::string, size_t> folders;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto fail = [&](const Error& e) {
      return Error{e.code == Errc::usage ? Errc::invalid_input : e.code,
                   "batch file line " + std::to_string(line_no) + ": " + e.message};
    };
    // What a reviewer reads must be what gets certified: no NUL, control byte or DEL anywhere in
    // a line, comments included (a tab separates fields; a final CR of CRLF was removed above).
    auto control = std::find_if(line.begin(), line.end(), [](char ch) {
      auto c = static_cast<unsigned char>(ch);
      return c != '\t' && (c < 0x20 || c == 0x7f);
    });
    if (control != line.end()) {
      const size_t i = static_cast<size_t>(control - line.begin());
      const bool cut = line.size() > 80;  // one bounded line, whatever the file holds
      bad.push_back(fail(Error{Errc::invalid_input,
                               "control byte " + printable(line.substr(i, 1)) + " at column " +
                                   std::to_string(i + 1) + " of '" + printable(line.substr(0, 80)) +
                                   (cut ? "...'" : "'") +
                                   " (NUL, other control bytes and DEL are never allowed; fields "
                                   "are separated by spaces or tabs)"}));
      continue;
    }
    std::vector<std::string_view> f;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (i > start) f.push_back(line.substr(start, i - start));
    }
    if (f.empty() || f[0].starts_with("#")) continue;
    // The role table of pki/identity.hpp says which fields follow the role word.
    auto role = batch_role(f[0]);
    if (!role) {
      bad.push_back(fail(
          Error{Errc::invalid_input, "unknown role '" + printable(f[0]) +
                                         "' (expected tenant, fabric-observer, fabric-admin, cell, "
                                         "provenance-signer, server or timestamp-authority)"}));
      continue;
    }
    auto fields = identity_fields(*role);
    if (f.size() != fields.size() + 1) {
      std::string format(f[0]);
      for (IdentityField field : fields) format += " " + std::string(field_placeholder(field));
      bad.push_back(fail(Error{Errc::invalid_input, "expected '" + format + "', found " +
                                                        std::to_string(f.size()) +
                                                        (f.size() == 1 ? " field" : " fields")}));
      continue;
    }
    auto id = make_identity(*role, std::span<const std::string_view>(f).subspan(1));
    if (!id) {
      bad.push_back(fail(id.error()));
      continue;
    }
    std::string folder = batch_folder_name(*id);
    if (!is_safe_path_component(folder)) {
      bad.push_back(
          fail(Error{Errc::invalid_input, "unsafe folder name '" + printable(folder) + "'"}));
      continue;
    }
    auto [it, inserted] = folders.emplace(folder, line_no);
    if (!inserted) {
      bad.push_back(
          fail(Error{Errc::invalid_input, "repeats the identity of line " +
                                              std::to_string(it->second) + " (" + folder + ")"}));
      continue;
    }
    out.push_back({line_no, std::move(*id)});
  }
  if (bad.size() == 1) return bad.front();
  if (!bad.empty()) {
    // One line naming every bad line (bounded: a file of garbage must not make a megabyte error).
    constexpr size_t kShown = 20;
    std::string message = std::to_string(bad.size()) + " bad lines, nothing issued: ";
    for (size_t i = 0; i < bad.size() && i < kShown; ++i)
      message += (i ? "; " : "") + bad[i].message;
    if (bad.size() > kShown) message += "; and " + std::to_string(bad.size() - kShown) + " more";
    return Error{bad.front().code, std::move(message)};
  }
  if (out.empty()) return Error{Errc::invalid_input, "the batch file lists no identity"};
  return out;
}

Result<BatchOutcome> issue_batch(const BatchRequest& req, const hsm::Interaction& interaction,
                                 const std::function<void(const WrittenCert&)>& on_issued) {
  auto text = read_file(req.batch_file);
  if (!text) return std::move(text).error().context("reading " + req.names.batch);
  auto entries = parse_batch(*text);
  if (!entries)
    return std::move(entries).error().context(req.names.batch + " '" + req.batch_file + "'");
  text->clear();
  text->shrink_to_fit();

  // Validate every output and the validity of every certificate before the CA key is loaded.
  if (auto r = check_out_dir(req.out, req.names.out); !r) return r.error();
  auto ca = read_ca_certificate(req.ca_cert, req.names.ca_cert);
  if (!ca) return std::move(ca).error();
  {
    std::set<int> day_values;
    for (const auto& e : *entries)
      day_values.insert(req.days.value_or(profile_for(e.identity).default_days));
    for (int d : day_values)
      if (auto r = check_validity_within_ca(ca->get(), d); !r) return r.error();
  }
  for (const auto& e : *entries) {
    fs::path dir = req.out / batch_folder_name(e.identity);
    auto [cn, kn] = output_names(e.identity.role);
    struct stat st;
    if (::lstat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
      return Error{Errc::invalid_input, "'" + dir.string() +
                                            "' exists and is not a directory (batch line " +
                                            std::to_string(e.line) + ")"};
    for (const auto& name : {cn, kn})
      if (auto r = check_output(dir / name, req.force); !r)
        return std::move(r).error().context("batch line " + std::to_string(e.line));
  }

  auto issuer = load_issuer(std::move(*ca), req.ca_key, interaction);
  if (!issuer) return std::move(issuer).error();
  auto recorder =
      IssuanceRecorder::open(req.ca_cert, issuer->certificate(), req.ledger, req.ca_key);
  if (!recorder) return std::move(recorder).error().context("opening the CA's ledger");
  CreatedDirectories made;  // --out and its missing parents
  if (auto r = made.create(req.out); !r) return std::move(r).error();

  // What this run wrote, so that a failure can take it back; with --force, the files it replaced
  // are kept until the whole batch has succeeded and are put back if it fails.
  std::vector<bool> dir_created(entries->size(), false);
  ReplacedFiles originals;
  size_t done = 0;
  // Serials reserved in the ledger by this run and what was issued under them. A failure takes
  // back every file, so no certificate left the process: the reservations are released too.
  std::vector<std::string> reserved;
  std::vector<IssuedCert> issued;
  issued.reserve(entries->size());
  auto rollback = [&] {
    recorder->release(reserved);
    for (size_t i = 0; i < done; ++i) {
      fs::path dir = req.out / batch_folder_name((*entries)[i].identity);
      auto [cn, kn] = output_names((*entries)[i].identity.role);
      ::unlink((dir / cn).c_str());
      ::unlink((dir / kn).c_str());
    }
    originals.restore();
    for (size_t i = 0; i < done; ++i)
      if (dir_created[i]) ::rmdir((req.out / batch_folder_name((*entries)[i].identity)).c_str());
    made.remove();
  };

  // Keys are made and certificates prepared (built and linted) a chunk at a time; the chunk's
  // serials are reserved in one ledger transaction before the CA key signs any of them.
  constexpr size_t kChunk = 256;
  std::vector<EvpPkeyPtr> keys;
  std::vector<X509Ptr> tbs;
  size_t chunk_start = 0;
  auto prepare_chunk = [&]() -> Result<void> {
    keys.clear();
    tbs.clear();
    std::vector<IssuanceRecorder::Pending> rows;
    for (size_t i = chunk_start; i < std::min(chunk_start + kChunk, entries->size()); ++i) {
      auto key = new_leaf_key();
      if (!key) return std::move(key).error();
      auto t = issuer->prepare((*entries)[i].identity, key->get(), req.days);
      if (!t)
        return std::move(t).error().context("batch line " + std::to_string((*entries)[i].line));
      const Identity& ident = (*entries)[i].identity;
      rows.push_back(
          {t->get(), &ident, req.out / batch_folder_name(ident) / output_names(ident.role).first});
      keys.push_back(std::move(*key));
      tbs.push_back(std::move(*t));
    }
    if (auto r = recorder->reserve_all(rows); !r) return r;
    for (auto& t : tbs) reserved.push_back(serial_hex(t.get()));
    return ok();
  };

  for (const auto& e : *entries) {
    auto step = [&]() -> Result<WrittenCert> {
      fs::path dir = req.out / batch_folder_name(e.identity);
      auto [cn, kn] = output_names(e.identity.role);
      if (done == chunk_start + keys.size() || keys.empty()) {
        chunk_start = done;
        if (auto r = prepare_chunk(); !r) return r.error();
      }
      EvpPkeyPtr* key = &keys[done - chunk_start];
      X509Ptr cert = std::move(tbs[done - chunk_start]);
      if (auto r = issuer->sign_prepared(cert.get()); !r) return r.error();
      issued.push_back(IssuedCert::of(cert.get(), e.identity, dir / cn));
      auto* cert_ptr = &cert;
      auto cert_pem = x509_to_pem(cert_ptr->get());
      if (!cert_pem) return std::move(cert_pem).error();
      auto kp = private_key_to_pem(key->get());
      key->reset();
      if (!kp) return std::move(kp).error();
      Wiped key_pem{std::move(*kp)};
      auto created = make_batch_dir(dir);
      if (!created) return std::move(created).error();
      dir_created[done] = *created;
      FileTransaction tx;
      if (auto r = tx.stage(dir / kn, key_pem.s,
                            {.mode = 0600, .overwrite = req.force, .durable = false});
          !r)
        return r.error();
      if (auto r = tx.stage(dir / cn, *cert_pem,
                            {.mode = 0644, .overwrite = req.force, .durable = false});
          !r)
        return r.error();
      if (auto r = tx.commit(&originals); !r) return r.error();
      WrittenCert w = describe(cert_ptr->get(), e.identity);
      w.certificate = dir / cn;
      w.private_key = dir / kn;
      return w;
    };
    auto w = step();
    if (!w) {
      if (dir_created[done]) ::rmdir((req.out / batch_folder_name(e.identity)).c_str());
      rollback();
      return std::move(w).error().context(
          "batch line " + std::to_string(e.line) + " (" + identity_label(e.identity) + "); the " +
          std::to_string(done) +
          " certificates already written by this run were removed and any files they replaced "
          "were put back");
    }
    ++done;
    if (on_issued) on_issued(*w);
  }

  // Durability for the whole batch: one filesystem flush, then the directory entries.
  originals.discard();
  Result<void> r = sync_filesystem(req.out);
  for (size_t i = 0; r && i < entries->size(); ++i)
    if (dir_created[i]) r = sync_directory(req.out / batch_folder_name((*entries)[i].identity));
  if (r) r = sync_directory(req.out);
  if (r) r = made.sync();
  if (!r) return std::move(r).error().context("making the batch durable");
  // Durable: the transcript records the batch (one checkpoint) and the rows become issued.
  BatchOutcome out;
  out.issued = done;
  if (done) {
    auto cp = recorder->confirm("issue", issued, issuer->signer());
    if (!cp)
      return std::move(cp).error().context(
          "the batch was written but its ledger rows stay reserved (ledger check reports them)");
    out.checkpoint = *cp;
  }
  out.notes = std::move(recorder->notes());
  return out;
}

}  // namespace grafos::pki

namespace grafos::pki {

Result<WrittenCert> issue_intermediate(const IntermediateRequest& req,
                                       const hsm::Interaction& interaction) {
  const Identity id = make_intermediate_identity();
  if (auto r = check_days(req.days); !r) return r.error();
  if (auto r = check_out_dir(req.out, "the output folder"); !r) return r.error();
  const fs::path cert_path = req.out / "intermediate.pem";
  if (auto r = check_output(cert_path, req.force); !r) return r.error();
  const std::string key_ref =
      req.key.empty() ? (req.out / "intermediate-key.pem").string() : req.key;

  // The root: a CA certificate that may have an intermediate below it, valid long enough.
  auto ca = read_ca_certificate(req.ca_cert);
  if (!ca) return std::move(ca).error();
  if (X509_check_ca(ca->get()) == 0 || !(X509_get_key_usage(ca->get()) & KU_KEY_CERT_SIGN))
    return Error{Errc::invalid_input, "'" + req.ca_cert +
                                          "' is not a CA certificate (needs CA:TRUE and "
                                          "keyCertSign); an intermediate is issued by the root"};
  if (X509_get_pathlen(ca->get()) == 0)
    return Error{Errc::invalid_input,
                 "the CA certificate '" + req.ca_cert +
                     "' has pathLenConstraint 0: it may not issue an intermediate CA (make the "
                     "root with a path length of 1 or more)"};
  if (auto r = check_validity_within_ca(ca->get(), req.days); !r) return r.error();
  auto issuer = load_issuer(std::move(*ca), req.ca_key, interaction);
  if (!issuer) return std::move(issuer).error();

  // The intermediate's key: made here (a 0600 file or a token object) unless it exists, in which
  // case it is used as it is (an intermediate renewed over the same key). A key this run made is
  // taken back when the run fails.
  CreatedDirectories made;
  auto km = hsm::open_key_manager(key_ref, interaction);
  if (!km) return std::move(km).error().context("the intermediate key");
  std::unique_ptr<hsm::KeyManager> manager = std::move(*km);
  bool created = false;
  std::unique_ptr<hsm::Signer> key;
  if (auto c = manager->create_key({.ref = key_ref, .replace = false, .label = {}}); c) {
    key = std::move(*c);
    created = true;
  } else if (c.error().code == Errc::exists) {
    auto s = manager->create_signer(key_ref);
    if (!s) return std::move(s).error().context("opening the existing intermediate key");
    key = std::move(*s);
  } else {
    return std::move(c).error().context("creating the intermediate key");
  }
  auto undo = [&](Error e) {
    key.reset();  // no signer of a key may outlive its discard
    if (created) {
      if (auto d = manager->discard_created_key(); !d)
        e.message += "; the intermediate key this run created could not be removed again (" +
                     d.error().message + ")";
      else
        e.message += "; the intermediate key this run created was removed again";
    }
    made.remove();
    return e;
  };
  EVP_PKEY* pub = key->public_key();
  if (!pub || !EVP_PKEY_is_a(pub, "EC"))
    return undo(Error{Errc::key_backend, "the intermediate key " + key->description() + " is " +
                                             describe_key(pub) + "; a CA key must be EC"});

  // The root's ledger: reserved before the root key signs, confirmed once the file is durable.
  auto recorder =
      IssuanceRecorder::open(req.ca_cert, issuer->certificate(), req.ledger, req.ca_key);
  if (!recorder) return undo(std::move(recorder).error().context("opening the CA's ledger"));
  LedgerReservation reservation(*recorder, *issuer, id, cert_path);
  auto cert = issuer->issue(id, pub, req.days);
  if (!cert) return undo(std::move(cert).error().context("issuing the intermediate"));
  auto cert_pem = x509_to_pem(cert->get());
  if (!cert_pem) return undo(std::move(cert_pem).error());
  FileTransaction tx;
  Result<void> r = made.create(req.out);
  if (r) r = tx.stage(cert_path, *cert_pem, {.mode = 0644, .overwrite = req.force});
  if (r) r = tx.commit();
  if (!r) {
    tx.abort();
    return undo(std::move(r).error());
  }
  reservation.keep();  // on disk: from here a failure leaves the row reserved (possibly issued)
  if (auto s = made.sync(); !s) return std::move(s).error().context("intermediate.pem was written");
  auto cp =
      recorder->confirm("issue", {IssuedCert::of(cert->get(), id, cert_path)}, issuer->signer());
  if (!cp)
    return std::move(cp).error().context(
        "intermediate.pem was written but its ledger row stays reserved (ledger check reports "
        "it)");
  WrittenCert w = describe(cert->get(), id);
  w.certificate = cert_path;
  if (manager->backend() == hsm::Backend::file && created) w.private_key = key_ref;
  w.key_ref = hsm::redact_key_ref(key_ref);
  w.checkpoint = *cp;
  w.notes = std::move(recorder->notes());
  return w;
}

}  // namespace grafos::pki
