#include "pki/csr.hpp"

#include <openssl/pem.h>

#include "pki/lint.hpp"

namespace grafos::pki {

Result<EvpPkeyPtr> csr_public_key(std::string_view data) {
  X509ReqPtr req;
  if (data.find("-----BEGIN") != std::string_view::npos) {
    BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    req.reset(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  } else {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(data.data());
    req.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(data.size())));
  }
  if (!req)
    return ossl_error(Errc::invalid_input, "not a PKCS#10 certificate request (PEM or DER)");
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (!key) return ossl_error(Errc::invalid_input, "the CSR's public key cannot be read");
  if (auto r = check_subject_key_policy(key); !r)
    return std::move(r).error().context("CSR refused");
  if (X509_REQ_verify(req.get(), key) != 1) {
    drain_ossl_errors();
    return Error{Errc::invalid_input,
                 "CSR refused: its signature does not verify with its own public key"};
  }
  EVP_PKEY_up_ref(key);
  return EvpPkeyPtr(key);
}

}  // namespace grafos::pki
