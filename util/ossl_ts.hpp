// RAII owners for OpenSSL's RFC 3161 objects (TS_*) and what they carry, shared by the TSA
// (registry/tsa), its client (admin/timestamp) and the bundle verifier (provenance/timestamp).
#pragma once

#include <openssl/pkcs7.h>
#include <openssl/ts.h>

#include <memory>

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

}  // namespace grafos
