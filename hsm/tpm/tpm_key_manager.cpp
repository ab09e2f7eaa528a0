#include "hsm/tpm/tpm_key_manager.hpp"

#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/provider.h>
#include <openssl/store.h>

#include <mutex>
#include <utility>

#include "util/file_io.hpp"

namespace grafos::hsm {
namespace {

/// A library context with the tpm2 and default providers, shared by the managers of a process.
struct TpmProviders {
  OSSL_LIB_CTX* libctx = nullptr;
  OSSL_PROVIDER* tpm2 = nullptr;
  OSSL_PROVIDER* deflt = nullptr;
  ~TpmProviders() {
    if (tpm2) OSSL_PROVIDER_unload(tpm2);
    if (deflt) OSSL_PROVIDER_unload(deflt);
    if (libctx) OSSL_LIB_CTX_free(libctx);
  }
};

// Prefer the tpm2 provider's signature implementation: the key's private half never leaves it.
const char kPropq[] = "?provider=tpm2";

std::mutex g_mu;
std::weak_ptr<TpmProviders> g_providers;

Result<std::shared_ptr<TpmProviders>> load_providers() {
  std::lock_guard lock(g_mu);
  if (auto p = g_providers.lock()) return p;
  auto p = std::make_shared<TpmProviders>();
  p->libctx = OSSL_LIB_CTX_new();
  if (!p->libctx) return ossl_error(Errc::key_backend, "creating an OpenSSL library context");
  p->deflt = OSSL_PROVIDER_load(p->libctx, "default");
  if (!p->deflt) return ossl_error(Errc::key_backend, "loading the OpenSSL default provider");
  p->tpm2 = OSSL_PROVIDER_load(p->libctx, "tpm2");
  if (!p->tpm2) {
    const char* tcti = std::getenv("TPM2OPENSSL_TCTI");
    return ossl_error(
        Errc::key_backend,
        std::string("loading the tpm2 OpenSSL provider (TCTI ") +
            (tcti ? "'" + std::string(tcti) + "'" : "default, TPM2OPENSSL_TCTI unset") +
            "; install tpm2-openssl and check that the TPM is reachable)");
  }
  g_providers = p;
  return p;
}

class TpmKeyManager final : public KeyManager {
 public:
  Backend backend() const override { return Backend::tpm; }
  explicit TpmKeyManager(std::shared_ptr<TpmProviders> p) : p_(std::move(p)) {}

  Result<std::unique_ptr<Signer>> create_key(const CreateKeyRequest& req) override {
    created_.clear();
    if (req.ref.starts_with("handle:"))
      return Error{Errc::usage, "'" + req.ref +
                                    "': creating a key at a persistent handle is not supported; "
                                    "create a TSS2 PEM key file, then persist it with "
                                    "tpm2_evictcontrol if a handle is needed"};
    if (!req.replace) {
      std::error_code ec;
      if (std::filesystem::symlink_status(req.ref, ec).type() !=
          std::filesystem::file_type::not_found)
        return Error{Errc::exists, "'" + req.ref + "' already exists; refusing to overwrite it"};
    }
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(p_->libctx, "EC", "provider=tpm2"));
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") != 1)
      return ossl_error(Errc::key_backend, "preparing EC P-256 key generation in the TPM");
    EVP_PKEY* raw = nullptr;
    if (EVP_PKEY_generate(ctx.get(), &raw) != 1)
      return ossl_error(Errc::key_backend, "generating an EC P-256 key in the TPM");
    EvpPkeyPtr key(raw);
    OSSL_ENCODER_CTX* ectx =
        OSSL_ENCODER_CTX_new_for_pkey(key.get(), EVP_PKEY_KEYPAIR, "PEM", nullptr, "provider=tpm2");
    BioPtr bio(BIO_new(BIO_s_mem()));
    int rc = ectx ? OSSL_ENCODER_to_bio(ectx, bio.get()) : 0;
    OSSL_ENCODER_CTX_free(ectx);
    if (rc != 1) return ossl_error(Errc::key_backend, "encoding the TPM key as TSS2 PEM");
    std::string pem = bio_to_string(bio.get());
    if (!pem.starts_with("-----BEGIN TSS2 PRIVATE KEY-----"))
      return Error{Errc::internal, "the tpm2 provider did not produce a TSS2 PRIVATE KEY PEM"};
    if (auto w = write_file_atomic(req.ref, pem, {.mode = 0600, .overwrite = req.replace}); !w)
      return std::move(w).error().context("writing TPM key '" + req.ref + "'");
    created_ = req.ref;
    return std::unique_ptr<Signer>(
        std::make_unique<EvpSigner>(std::move(key), req.ref, p_, p_->libctx, kPropq));
  }

  Result<EvpPkeyPtr> get_public_key(std::string_view ref) override {
    auto s = create_signer(ref);
    if (!s) return std::move(s).error();
    EvpPkeyPtr pub(EVP_PKEY_dup((*s)->public_key()));
    if (!pub)
      return ossl_error(Errc::crypto, "copying the public key of '" + std::string(ref) + "'");
    return pub;
  }

  Result<void> discard_created_key() override {
    if (created_.empty()) return ok();
    // The key lives only in this TSS2 file (wrapped by the TPM's parent key): removing the file
    // destroys it; nothing was made persistent in the TPM.
    return remove_file(std::exchange(created_, {}), "the TPM key file made by this run");
  }

  Result<std::unique_ptr<Signer>> create_signer(std::string_view ref) override {
    auto key = load(std::string(ref));
    if (!key) return std::move(key).error();
    auto s = std::make_unique<EvpSigner>(std::move(*key), std::string(ref), p_, p_->libctx, kPropq);
    if (!s->public_key())
      return ossl_error(Errc::key_backend,
                        "reading the public half of TPM key '" + std::string(ref) + "'");
    return std::unique_ptr<Signer>(std::move(s));
  }

 private:
  Result<EvpPkeyPtr> load(const std::string& ref) {
    if (!ref.starts_with("handle:")) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(ref, ec))
        return Error{Errc::file_missing, "TPM key file '" + ref + "' does not exist"};
    } else if (ref.size() != 17 || !ref.starts_with("handle:0x81")) {
      return Error{Errc::invalid_input, "'" + ref +
                                            "' is not a persistent handle (handle:0x81xxxxxx, "
                                            "8 hex digits)"};
    }
    OSSL_STORE_CTX* store = OSSL_STORE_open_ex(ref.c_str(), p_->libctx, nullptr, nullptr, nullptr,
                                               nullptr, nullptr, nullptr);
    if (!store) return ossl_error(Errc::key_backend, "opening TPM key '" + ref + "'");
    EvpPkeyPtr key;
    while (!key && !OSSL_STORE_eof(store)) {
      OSSL_STORE_INFO* info = OSSL_STORE_load(store);
      if (!info) break;
      if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
        key.reset(OSSL_STORE_INFO_get1_PKEY(info));
      OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(store);
    if (!key) return ossl_error(Errc::key_backend, "'" + ref + "' holds no TPM private key");
    drain_ossl_errors();
    return key;
  }

  std::shared_ptr<TpmProviders> p_;
  std::string created_;  // the TSS2 key file the last create_key wrote
};

}  // namespace

Result<std::unique_ptr<KeyManager>> make_tpm_key_manager(std::string_view, const Interaction&) {
  auto p = load_providers();
  if (!p) return std::move(p).error();
  return std::unique_ptr<KeyManager>(std::make_unique<TpmKeyManager>(std::move(*p)));
}

}  // namespace grafos::hsm
