#include "hsm/load_key.hpp"

#include "grafos_config.h"
#include "hsm/file/file_key_manager.hpp"
#include "util/file_io.hpp"
#if HAVE_PKCS11
#include "hsm/pkcs11/p11_module.hpp"
#include "hsm/pkcs11/pkcs11_key_manager.hpp"
#include "hsm/uri.hpp"
#endif

namespace grafos::hsm {
namespace {

// The signer for an existing key. A pkcs11: URI is parsed once on this path (the backend opens
// the token and the key from the same parse).
Result<std::unique_ptr<Signer>> open_signer(std::string_view ref, Backend backend,
                                            const Interaction& in) {
#if HAVE_PKCS11
  if (backend == Backend::pkcs11) return open_pkcs11_signer(ref, in);
#endif
  if (backend == Backend::file) return make_file_key_manager(in)->create_signer(ref);
  auto km = open_key_manager(ref, in);
  if (!km) return std::move(km).error();
  return (*km)->create_signer(ref);
}

}  // namespace

Result<LoadedKey> load_key(const LoadKeyRequest& req) {
  X509* certificate = req.certificate;
  std::string cert_name = req.certificate_name;
  X509Ptr read;
  if (!certificate && !req.certificate_path.empty()) {
    if (cert_name.empty()) cert_name = "the certificate '" + req.certificate_path + "'";
    auto pem = read_file(req.certificate_path, 1024 * 1024);
    if (!pem) return std::move(pem).error();
    auto cert = x509_from_pem(*pem);
    if (!cert) return std::move(cert).error().context("reading " + cert_name);
    read = std::move(*cert);
    certificate = read.get();
  }
  if (cert_name.empty()) cert_name = "the certificate";
  LoadedKey k;
  k.backend = classify_key_ref(req.ref);
  k.description = redact_key_ref(req.ref);
  auto signer = open_signer(req.ref, k.backend, req.interaction);
  if (!signer) return std::move(signer).error();
  k.signer = std::move(*signer);
  if (certificate) {
    EVP_PKEY* cert_key = X509_get0_pubkey(certificate);
    if (!cert_key) return ossl_error(Errc::invalid_input, "reading the public key of " + cert_name);
    if (!public_keys_equal(k.signer->public_key(), cert_key))
      return Error{Errc::key_backend, "the key '" + k.description + "' does not match " +
                                          cert_name +
                                          " (give the key the certificate was issued for)"};
  }
  auto pk = tls_private_key(*k.signer);
  if (!pk) return std::move(pk).error();
  k.private_key = std::move(*pk);
  return k;
}

ModuleInfo pkcs11_module_info(std::string_view ref) {
  ModuleInfo info;
#if HAVE_PKCS11
  if (classify_key_ref(ref) != Backend::pkcs11) return info;
  auto u = parse_pkcs11_uri(ref);
  if (!u || u->module_path.empty()) return info;
  auto m = p11::load_module(u->module_path, redact_key_ref(ref));
  if (!m) return info;
  info.manufacturer = (*m)->manufacturer;
  info.description = (*m)->description;
#else
  (void)ref;
#endif
  return info;
}

}  // namespace grafos::hsm
