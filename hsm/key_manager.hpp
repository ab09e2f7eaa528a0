// The key-backend contract (after smallstep's kms/apiv1): a KeyManager creates keys, reads their
// public half and makes Signers; a Signer signs and exposes its public key. Callers (pki/,
// provenance/) never know whether a key is a PEM file, a PKCS#11 token object or a TPM key.
//
// Keys are named by one string, accepted by every --ca-key / --key / --sign-key flag:
//   ca/ca-key.pem                                   file backend
//   pkcs11:token=fabric-ca;object=ca-key?module-path=/usr/lib/softhsm/libsofthsm2.so
//          &pin-source=file:/run/ca.pin              pkcs11 backend (RFC 7512)
//   ca/ca-key.tss2.pem  or  handle:0x81000010       tpm backend (tpm2 OpenSSL provider)
#pragma once

#include <openssl/evp.h>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "util/bytes.hpp"
#include "util/ossl.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace grafos::hsm {

/// Which backend a key reference names.
enum class Backend { file, pkcs11, tpm };

/// Human name of a backend ("file", "pkcs11", "tpm").
std::string_view backend_name(Backend b);

/// Decides the backend from a key reference: "pkcs11:" (scheme in any case) -> pkcs11;
/// "handle:0x..." or a file whose PEM label is "TSS2 PRIVATE KEY" -> tpm; a path that does not
/// exist yet and ends in ".tss2.pem" -> tpm (so create_key can make a TPM key); anything else ->
/// file.
Backend classify_key_ref(std::string_view ref);

/// A key reference with secrets removed, safe for messages and logs: paths unchanged; a pkcs11:
/// URI with every pin-value shown as "pin-value=<redacted>", or "pkcs11:<redacted>" when it cannot
/// be split safely (see redact_pkcs11_uri in hsm/uri.hpp).
std::string redact_key_ref(std::string_view ref);

/// How a backend obtains secrets and reports non-fatal warnings. Library code never prints; the
/// tool supplies these callbacks.
struct Interaction {
  /// Asks the user for a secret (no echo). Unset: prompting is not allowed.
  std::function<Result<SecretString>(std::string_view prompt)> prompt_secret;
  /// Receives warnings such as "pin-value= in a URI is visible to other users".
  std::function<void(std::string_view)> warn;
  /// Environment variable holding the PKCS#11 PIN.
  std::string pin_env = "GRAFOS_PKCS11_PIN";
  /// File-backend passphrase: path of a file holding it (empty: none).
  std::string passphrase_file;
  /// How the tool names its passphrase-file option in hints (e.g. "--key-passphrase-file");
  /// empty: the tool has none, and hints do not offer one.
  std::string passphrase_file_option;
  /// File-backend passphrase: environment variable holding it.
  std::string passphrase_env = "GRAFOS_KEY_PASSPHRASE";
};

/// Signs with one key. Every backend yields an EVP_PKEY that OpenSSL 3 signs with, so structure
/// signing (X509_sign_ctx, X509_REQ_sign_ctx) and raw message signing share one path.
class Signer {
 public:
  virtual ~Signer() = default;

  /// The public half of the signing key.
  virtual EVP_PKEY* public_key() const = 0;

  /// Initialises `ctx` for EVP_DigestSign with SHA-256 (for X509_sign_ctx and friends).
  virtual Result<void> init_digest_sign(EVP_MD_CTX* ctx) = 0;

  /// Signs `message` with ECDSA-SHA256 (RSA: PKCS#1 v1.5 SHA-256); DER-encoded signature.
  virtual Result<Bytes> sign(std::span<const unsigned char> message);

  /// The key reference this signer was made from, redacted.
  virtual std::string description() const = 0;

  /// The error for an OpenSSL signing call with this key that failed ("signing the CRL"): the
  /// call and the key, with what OpenSSL's error queue says (drained). A PKCS#11 signer names
  /// the token's CKR_ return code there.
  virtual Error signing_error(std::string_view what) const;
};

/// What create_key makes. Only EC P-256 is supported by the CA profiles.
struct CreateKeyRequest {
  std::string ref;       ///< where the key goes: a path or a pkcs11: URI naming token+object
  bool replace = false;  ///< allow replacing an existing file / token object of that name
  std::string label;     ///< PKCS#11 CKA_LABEL (defaults to the URI's object=)
};

/// Backend-neutral key management.
class KeyManager {
 public:
  virtual ~KeyManager() = default;

  /// The backend this manager serves.
  virtual Backend backend() const = 0;

  /// Generates a new EC P-256 key at `req.ref` and returns a signer for it. Key files (file and
  /// TPM backends) are written 0600; the file backend encrypts them as Interaction says.
  virtual Result<std::unique_ptr<Signer>> create_key(const CreateKeyRequest& req) = 0;

  /// Loads the public half of an existing key.
  virtual Result<EvpPkeyPtr> get_public_key(std::string_view ref) = 0;

  /// Opens an existing key for signing (logs in to the token at most once per manager).
  virtual Result<std::unique_ptr<Signer>> create_signer(std::string_view ref) = 0;

  /// Destroys the key that this manager's last create_key made (the token's two objects, or the
  /// key file), for a command that fails after creating it; nothing else is touched. A no-op when
  /// create_key made nothing. Signers of that key must not be used afterwards.
  virtual Result<void> discard_created_key() = 0;
};

/// Opens the key manager for the backend `ref` names. A backend compiled out of this build
/// returns an error that says so.
Result<std::unique_ptr<KeyManager>> open_key_manager(std::string_view ref,
                                                     const Interaction& interaction);

/// The private key behind `signer` as an EVP_PKEY for TLS stacks (SSL_CTX_use_PrivateKey,
/// SSL_CTX_use_cert_and_key), with its own reference. The key may live in a PKCS#11 session or a
/// provider owned by the Signer: keep `signer` alive as long as the EVP_PKEY is used.
Result<EvpPkeyPtr> tls_private_key(Signer& signer);

/// Verifies a DER or raw (r||s) ECDSA signature / RSA signature over `message` with `pub`.
Result<void> verify_signature(EVP_PKEY* pub, std::span<const unsigned char> message,
                              std::span<const unsigned char> signature);

/// A Signer over an EVP_PKEY that OpenSSL can sign with directly (file keys, libp11 keys,
/// provider keys). `keep_alive` holds whatever the key needs (a PKCS#11 session, a provider).
class EvpSigner : public Signer {
 public:
  EvpSigner(EvpPkeyPtr key, std::string description, std::shared_ptr<void> keep_alive = {},
            OSSL_LIB_CTX* libctx = nullptr, std::string propq = {});
  ~EvpSigner() override;
  EVP_PKEY* public_key() const override { return public_.get(); }
  Result<void> init_digest_sign(EVP_MD_CTX* ctx) override;
  std::string description() const override { return description_; }

 private:
  std::shared_ptr<void> keep_alive_;  // destroyed after key_ (declared first)
  EvpPkeyPtr key_;
  EvpPkeyPtr public_;
  std::string description_;
  OSSL_LIB_CTX* libctx_;
  std::string propq_;
};

}  // namespace grafos::hsm
