// Issuance: builds a certificate from a profile, lints it, has the CA Signer sign it, and verifies
// the signature with the CA public key before handing it out (a faulty HSM must not produce a
// bad certificate). Signs through hsm::Signer only; knows no key backend.
#pragma once

#include <ctime>
#include <functional>
#include <memory>
#include <optional>

#include "hsm/key_manager.hpp"
#include "pki/identity.hpp"
#include "pki/profile.hpp"
#include "util/ossl.hpp"

namespace grafos::pki {

/// Longest accepted --days.
inline constexpr int kMaxDays = 36500;

/// Checks a --days value (1..kMaxDays).
Result<void> check_days(int days);

/// Checks that a leaf issued now for `days` days would not outlive `ca` (Errc::invalid_input
/// naming the CA's expiry otherwise) and that `ca` has not expired.
Result<void> check_validity_within_ca(X509* ca, int days);

/// Creates the self-signed CA certificate for `ca` (role ca) with `signer`'s key, valid `days`
/// days from now. Lints before signing and verifies the self-signature afterwards.
Result<X509Ptr> create_ca_certificate(const Identity& ca, hsm::Signer& signer, int days);

/// Same, with an explicit profile (tests feed broken profiles to prove the linter stops them).
Result<X509Ptr> create_ca_certificate_with_profile(const Identity& ca, const Profile& profile,
                                                   hsm::Signer& signer, int days);

/// A fabric CA ready to issue: its certificate and a Signer whose key matches it.
class Issuer {
 public:
  /// Checks that `ca_cert` is a CA certificate (CA:TRUE, keyCertSign), that its key is EC, and
  /// that `signer`'s public key matches it (Errc::key_backend otherwise).
  static Result<Issuer> create(X509Ptr ca_cert, std::unique_ptr<hsm::Signer> signer);

  /// Checks that a leaf valid `days` days from now would end before the CA certificate does
  /// (Errc::invalid_input naming the CA's expiry otherwise) and that the CA has not expired.
  Result<void> check_validity(int days) const;

  /// Issues a certificate for `id` over `subject_key` (public half used), valid `days` days
  /// (default: the profile's). Order: build, lint, sign, verify. The certificate is built for
  /// output: its SubjectPublicKeyInfo is encoded directly, so X509_get0_pubkey() on it returns
  /// null; use `subject_key`, or a certificate read back from its DER.
  Result<X509Ptr> issue(const Identity& id, EVP_PKEY* subject_key,
                        std::optional<int> days = std::nullopt);

  /// Same, with an explicit profile; the linter still checks against the rules of `id`. When
  /// `profile.not_after` is set it replaces `days`: it must be in the future and within the CA.
  Result<X509Ptr> issue_with_profile(const Identity& id, const Profile& profile,
                                     EVP_PKEY* subject_key, int days);

  /// The first half of issue(): builds and lints the certificate (a fresh random serial), not
  /// signed. For callers that record it (the ledger's reservation) before the key signs.
  Result<X509Ptr> prepare(const Identity& id, EVP_PKEY* subject_key,
                          std::optional<int> days = std::nullopt);
  /// The second half: signs a prepare()d certificate and verifies the signature with the CA
  /// certificate's public key.
  Result<void> sign_prepared(X509* tbs);

  /// Called by issue() with the linted, unsigned certificate just before the key signs it. An
  /// error stops the issuance with nothing signed; Errc::exists asks for another serial (the
  /// certificate is rebuilt, at most three times).
  using BeforeSign = std::function<Result<void>(X509* tbs)>;
  void set_before_sign(BeforeSign hook) { before_sign_ = std::move(hook); }

  /// The CA certificate.
  X509* certificate() const { return ca_cert_.get(); }
  /// The CA signer.
  hsm::Signer& signer() { return *signer_; }

 private:
  Issuer(X509Ptr ca_cert, std::unique_ptr<hsm::Signer> signer, std::time_t ca_not_before)
      : ca_cert_(std::move(ca_cert)), signer_(std::move(signer)), ca_not_before_(ca_not_before) {}
  X509Ptr ca_cert_;
  std::unique_ptr<hsm::Signer> signer_;
  std::time_t ca_not_before_;
  BeforeSign before_sign_;
};

/// Serial number as lowercase hex.
std::string serial_hex(X509* cert);

/// An ASN1_TIME as RFC 3339 UTC ("2036-01-02T03:04:05Z").
std::string rfc3339(const ASN1_TIME* t);

}  // namespace grafos::pki
