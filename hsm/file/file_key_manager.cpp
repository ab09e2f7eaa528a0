#include "hsm/file/file_key_manager.hpp"

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>

#include "hsm/uri.hpp"
#include "util/file_io.hpp"

namespace grafos::hsm {
namespace {

struct PassphraseState {
  const Interaction* interaction;
  std::string path;
  Error error{Errc::pin, ""};
  bool asked = false;
};

// Refuses an empty passphrase: it encrypts nothing, anyone opens the key with an empty password.
Result<SecretString> non_empty(Result<SecretString> pass, const Interaction& in,
                               std::string_view path, const std::string& source, const char* kind) {
  if (!pass) return std::move(pass).error().context("key '" + std::string(path) + "'");
  if (pass->empty())
    return Error{Errc::pin, "key '" + std::string(path) + "': the passphrase from " + source +
                                " is empty (" + kind +
                                "); refusing an empty passphrase (give a real one, or unset " +
                                in.passphrase_env +
                                " for an unencrypted key file); nothing was "
                                "written"};
  return pass;
}

// The passphrase configured for new keys: the file, else the environment variable; nullopt when
// neither is given (the key is stored unencrypted).
Result<std::optional<SecretString>> configured_passphrase(const Interaction& in,
                                                          std::string_view path) {
  Result<SecretString> pass = Error{Errc::internal, ""};
  if (!in.passphrase_file.empty())
    pass = non_empty(read_secret_file(in.passphrase_file), in, path, "'" + in.passphrase_file + "'",
                     "passphrase file");
  else if (auto env = read_secret_env(in.passphrase_env.c_str()))
    pass = non_empty(std::move(env), in, path, in.passphrase_env, "environment variable");
  else
    return std::optional<SecretString>();
  if (!pass) return std::move(pass).error();
  return std::optional<SecretString>(std::move(*pass));
}

// The passphrase of an encrypted key being opened: as configured, else a no-echo prompt.
Result<SecretString> obtain_passphrase(const Interaction& in, std::string_view path) {
  auto configured = configured_passphrase(in, path);
  if (!configured) return std::move(configured).error();
  if (*configured) return std::move(**configured);
  if (in.prompt_secret)
    return non_empty(in.prompt_secret("Passphrase for " + std::string(path) + ": "), in, path,
                     "the terminal prompt", "typed");
  // Only the ways this tool has: a passphrase file only when it has an option for one.
  const std::string file_way =
      in.passphrase_file_option.empty() ? "" : ", give " + in.passphrase_file_option;
  return Error{Errc::pin, "key '" + std::string(path) +
                              "' is encrypted and no passphrase was given (set " +
                              in.passphrase_env + file_way + ", or run on a terminal to be asked)"};
}

// A key reference the file backend must never take as a path (it would write a file named after
// a URI, PIN included): a pkcs11: URI in any case, routed here by mistake.
Result<void> check_file_ref(std::string_view ref) {
  if (has_pkcs11_scheme(ref))
    return Error{Errc::usage, "'" + redact_key_ref(ref) +
                                  "' is a PKCS#11 URI, not a key file; open it with the pkcs11 "
                                  "backend"};
  return ok();
}

// The PEM a key file is stored as: encrypted PKCS#8 (AES-256-CBC) when a passphrase file or
// variable is given, plain PKCS#8 otherwise. An empty passphrase is refused (Errc::pin, naming its
// source, never its value). `ref` names the key in messages.
Result<std::string> key_file_pem(EVP_PKEY* key, const Interaction& in, std::string_view ref) {
  auto pass = configured_passphrase(in, ref);
  if (!pass) return std::move(pass).error();
  BioPtr bio(BIO_new(BIO_s_secmem()));
  int rc = 0;
  if (*pass)
    rc = bio ? PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), (*pass)->c_str(),
                                             static_cast<int>((*pass)->size()), nullptr, nullptr)
             : 0;
  else
    rc = bio ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) : 0;
  if (rc != 1) return ossl_error(Errc::crypto, "encoding the key '" + std::string(ref) + "'");
  return bio_to_string(bio.get());
}

int passphrase_cb(char* buf, int size, int /*rwflag*/, void* u) {
  auto* st = static_cast<PassphraseState*>(u);
  st->asked = true;
  auto pass = obtain_passphrase(*st->interaction, st->path);
  if (!pass) {
    st->error = pass.error();
    return -1;
  }
  if (pass->size() >= static_cast<size_t>(size)) {
    st->error = Error{Errc::pin, "passphrase is too long"};
    return -1;
  }
  std::memcpy(buf, pass->c_str(), pass->size());
  return static_cast<int>(pass->size());
}

// An unencrypted PKCS#8 EC key (what init-ca writes) through a decoder chain built for exactly
// that: in OpenSSL 3.0 the generic PEM_read_bio_PrivateKey chain, which tries every key type and
// structure, costs a few million instructions more. nullptr for anything else.
EvpPkeyPtr decode_pkcs8_ec(std::string_view pem) {
  if (!pem.starts_with("-----BEGIN PRIVATE KEY-----")) return nullptr;
  EVP_PKEY* key = nullptr;
  OSSL_DECODER_CTX* dctx = OSSL_DECODER_CTX_new_for_pkey(&key, "PEM", "PrivateKeyInfo", "EC",
                                                         EVP_PKEY_KEYPAIR, nullptr, nullptr);
  const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
  size_t len = pem.size();
  bool decoded = dctx && OSSL_DECODER_from_data(dctx, &data, &len) == 1;
  OSSL_DECODER_CTX_free(dctx);
  if (!decoded) {
    EVP_PKEY_free(key);
    drain_ossl_errors();
    return nullptr;
  }
  return EvpPkeyPtr(key);
}

Result<EvpPkeyPtr> load_private_key(const Interaction& in, const std::string& path) {
  auto pem = read_file(path, 1024 * 1024);
  if (!pem) return std::move(pem).error().context("loading key");
  if (EvpPkeyPtr ec = decode_pkcs8_ec(*pem)) {
    OPENSSL_cleanse(pem->data(), pem->size());
    return ec;
  }
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  PassphraseState st{&in, path};
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb, &st));
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!key) {
    if (st.asked && !st.error.message.empty()) {
      drain_ossl_errors();
      return st.error;
    }
    if (st.asked) {
      drain_ossl_errors();
      return Error{Errc::pin, "cannot decrypt key '" + path + "': wrong passphrase"};
    }
    return ossl_error(Errc::invalid_input, "'" + path + "' is not a PEM private key");
  }
  return key;
}

// Where a new key file goes: a symbolic link there is always refused (never written through), so
// is anything but a regular file, and an existing file unless `replace`. True when a file exists.
Result<bool> check_new_key_path(const std::string& path, bool replace) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    if (errno == ENOTDIR)
      return Error{Errc::invalid_input,
                   "a parent of the key file '" + path + "' exists and is not a directory"};
    return Error{Errc::io, "cannot inspect '" + path + "': " + std::strerror(errno)};
  }
  if (S_ISLNK(st.st_mode))
    return Error{Errc::invalid_input,
                 "'" + path + "' is a symbolic link; refusing to write through it"};
  if (!S_ISREG(st.st_mode))
    return Error{Errc::invalid_input, "'" + path + "' exists and is not a regular file"};
  if (!replace) return Error{Errc::exists, "refusing to overwrite existing '" + path + "'"};
  return true;
}

class FileKeyManager final : public KeyManager {
 public:
  explicit FileKeyManager(const Interaction& in) : in_(in) {}
  ~FileKeyManager() override { wipe_replaced(); }

  Backend backend() const override { return Backend::file; }

  // Everything that can be refused (the path, the passphrase) is checked before anything is
  // written. Missing parent folders are made (0755) and taken back by discard_created_key, which
  // also puts back a key file this call replaced.
  Result<std::unique_ptr<Signer>> create_key(const CreateKeyRequest& req) override {
    created_.clear();
    wipe_replaced();
    dirs_ = CreatedDirectories();
    if (auto r = check_file_ref(req.ref); !r) return std::move(r).error();
    auto exists = check_new_key_path(req.ref, req.replace);
    if (!exists) return std::move(exists).error();
    auto key = generate_p256_key();
    if (!key) return std::move(key).error();
    auto pem = key_file_pem(key->get(), in_, req.ref);
    if (!pem) return std::move(pem).error().context("creating the key");
    Wiped text{std::move(*pem)};
    if (*exists) {
      auto old = read_file(req.ref, 1024 * 1024);
      if (!old) return std::move(old).error().context("keeping the key file being replaced");
      replaced_ = std::move(*old);
    }
    std::filesystem::path parent = std::filesystem::path(req.ref).parent_path();
    if (!parent.empty())
      if (auto r = dirs_.create(parent); !r) return std::move(r).error();
    auto w = write_file_atomic(req.ref, text.s, {.mode = 0600, .overwrite = req.replace});
    if (!w) {
      dirs_.remove();
      wipe_replaced();
      return std::move(w).error();
    }
    if (auto r = dirs_.sync(); !r) return std::move(r).error();
    created_ = req.ref;
    return std::unique_ptr<Signer>(std::make_unique<EvpSigner>(std::move(*key), req.ref));
  }

  Result<void> discard_created_key() override {
    if (created_.empty()) return ok();
    const std::string path = std::exchange(created_, {});
    Result<void> r = ok();
    if (replaced_) {
      r = write_file_atomic(path, *replaced_, {.mode = 0600, .overwrite = true});
      wipe_replaced();
    } else {
      r = remove_file(path, "the key file made by this run");
    }
    dirs_.remove();
    return r;
  }

  Result<EvpPkeyPtr> get_public_key(std::string_view ref) override {
    if (auto r = check_file_ref(ref); !r) return std::move(r).error();
    auto key = load_private_key(in_, std::string(ref));
    if (!key) return std::move(key).error();
    EvpSigner s(std::move(*key), std::string(ref));
    if (!s.public_key()) return ossl_error(Errc::crypto, "extracting public key");
    return EvpPkeyPtr(EVP_PKEY_dup(s.public_key()));
  }

  Result<std::unique_ptr<Signer>> create_signer(std::string_view ref) override {
    if (auto r = check_file_ref(ref); !r) return std::move(r).error();
    auto key = load_private_key(in_, std::string(ref));
    if (!key) return std::move(key).error();
    return std::unique_ptr<Signer>(std::make_unique<EvpSigner>(std::move(*key), std::string(ref)));
  }

 private:
  struct Wiped {
    std::string s;
    ~Wiped() { OPENSSL_cleanse(s.data(), s.size()); }
  };

  void wipe_replaced() {
    if (replaced_) OPENSSL_cleanse(replaced_->data(), replaced_->size());
    replaced_.reset();
  }

  Interaction in_;
  std::string created_;                  // the key file the last create_key wrote
  std::optional<std::string> replaced_;  // the key file it replaced, to put back on discard
  CreatedDirectories dirs_;              // the folders it made for the key file
};

}  // namespace

Result<EvpPkeyPtr> generate_p256_key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return ossl_error(Errc::crypto, "generating an EC P-256 key");
  return key;
}

std::unique_ptr<KeyManager> make_file_key_manager(const Interaction& interaction) {
  return std::make_unique<FileKeyManager>(interaction);
}

}  // namespace grafos::hsm
