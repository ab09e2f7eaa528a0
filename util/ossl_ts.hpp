// RAII owners for OpenSSL's RFC 3161 objects (TS_*) and what they carry, shared by the TSA
// (registry/tsa), its client (admin/timestamp) and the bundle verifier (provenance/timestamp).
#pragma once

#include <openssl/pkcs7.h>
#include <openssl/ts.h>

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "util/ossl.hpp"

namespace grafos {

using TsReqPtr = std::unique_ptr<TS_REQ, OsslDeleter<TS_REQ_free>>;
using TsRespPtr = std::unique_ptr<TS_RESP, OsslDeleter<TS_RESP_free>>;
using TsRespCtxPtr = std::unique_ptr<TS_RESP_CTX, OsslDeleter<TS_RESP_CTX_free>>;
using TsVerifyCtxPtr = std::unique_ptr<TS_VERIFY_CTX, OsslDeleter<TS_VERIFY_CTX_free>>;
using TsMsgImprintPtr = std::unique_ptr<TS_MSG_IMPRINT, OsslDeleter<TS_MSG_IMPRINT_free>>;
using TsTstInfoPtr = std::unique_ptr<TS_TST_INFO, OsslDeleter<TS_TST_INFO_free>>;
using Pkcs7Ptr = std::unique_ptr<PKCS7, OsslDeleter<PKCS7_free>>;
using X509AlgorPtr = std::unique_ptr<X509_ALGOR, OsslDeleter<X509_ALGOR_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, OsslDeleter<ASN1_OBJECT_free>>;

/// Frees a certificate stack and the certificates in it.
inline void free_x509_stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
/// A stack that owns its certificates.
using X509StackPtr = std::unique_ptr<STACK_OF(X509), OsslDeleter<free_x509_stack>>;

/// The PKIFailureInfo bits set in `bits`, by their RFC 3161 (section 2.4.2) names ("badAlg").
inline std::vector<std::string_view> ts_failure_names(const ASN1_BIT_STRING* bits) {
  static constexpr std::pair<int, std::string_view> kBits[] = {
      {TS_INFO_BAD_ALG, "badAlg"},
      {TS_INFO_BAD_REQUEST, "badRequest"},
      {TS_INFO_BAD_DATA_FORMAT, "badDataFormat"},
      {TS_INFO_TIME_NOT_AVAILABLE, "timeNotAvailable"},
      {TS_INFO_UNACCEPTED_POLICY, "unacceptedPolicy"},
      {TS_INFO_UNACCEPTED_EXTENSION, "unacceptedExtension"},
      {TS_INFO_ADD_INFO_NOT_AVAILABLE, "addInfoNotAvailable"},
      {TS_INFO_SYSTEM_FAILURE, "systemFailure"}};
  std::vector<std::string_view> out;
  for (auto [bit, name] : kBits)
    if (bits != nullptr && ASN1_BIT_STRING_get_bit(bits, bit)) out.push_back(name);
  return out;
}

}  // namespace grafos
