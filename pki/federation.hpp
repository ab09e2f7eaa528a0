// Federation enrollment (seed 001, DESIGN.md section 10): the certificates an online enrollment
// intermediate issues to federated peers, and the checks a peer runs on the certificate it gets.
//
// A peer certificate names `urn:fabricbios:peer:<peerId>` (one URI SAN), has EKU clientAuth, lasts
// no longer than the grant nor the intermediate, and carries two non-critical custom extensions
// under the project's own OID arc (a UUID arc under 2.25, ITU-T X.667):
//
//   2.25.22471549674437839168046222397920535751      grafos federation arc
//                                                     (UUID 10e7dcf0-494d-480b-8c0a-748905b864c7)
//   2.25.22471549674437839168046222397920535751.1    grant id         UTF8String
//   2.25.22471549674437839168046222397920535751.2    subject user id  UTF8String
//
// The extension value (the extnValue OCTET STRING's content) is the DER of one UTF8String.
// Peer ids follow the tenant grammar, at most 59 characters: 1-59 of A-Z a-z 0-9 . _ -, starting
// with a letter or digit (so no '/', ':', whitespace or control byte ever reaches a URN or a path;
// the subject CN "peer <peerId>" stays within RFC 5280's 64).
// Grant and user ids are 1-128 bytes of UTF-8 without control bytes or DEL.
#pragma once

#include <openssl/x509.h>

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "hsm/key_manager.hpp"
#include "pki/issuer.hpp"
#include "util/ossl.hpp"
#include "util/result.hpp"
#include "util/secret.hpp"

namespace grafos::pki::federation {

/// The project's OID arc and the two extensions under it (dotted text).
inline constexpr std::string_view kOidArc = "2.25.22471549674437839168046222397920535751";
inline constexpr std::string_view kGrantIdOid = "2.25.22471549674437839168046222397920535751.1";
inline constexpr std::string_view kUserIdOid = "2.25.22471549674437839168046222397920535751.2";

/// NIDs of the two extensions, registered with OBJ_create on first use (once per process; short
/// names "grafosGrantId" and "grafosUserId"). OpenSSL 3.0 does not lock its table of added
/// objects against concurrent lookups: a server calls one of these at startup, before its threads
/// parse certificates.
int grant_id_nid();
int user_id_nid();

/// Longest peer id, in characters.
inline constexpr std::size_t kMaxPeerIdLength = 59;
/// Longest grant id / user id, in bytes.
inline constexpr std::size_t kMaxIdBytes = 128;

/// Checks a peer id (the tenant grammar, at most kMaxPeerIdLength characters). Errc::invalid_input
/// naming the rule otherwise.
Result<void> check_peer_id(std::string_view peer_id);
/// Same, returning the id as a string for callers that parse user input.
Result<std::string> parse_peer_id(std::string_view text);
/// Checks a grant id or user id (1-128 bytes of UTF-8, no control byte); `what` names it.
Result<void> check_grant_field(std::string_view value, std::string_view what);

/// "urn:fabricbios:peer:<peerId>" (the id is not checked here).
std::string peer_urn(std::string_view peer_id);

/// The identity of a peer (Role::peer), validated.
Result<Identity> make_peer_identity(std::string_view peer_id);

/// What a peer is granted: the certificate's name, extensions and latest end.
struct PeerGrant {
  std::string peer_id;
  std::string grant_id;
  std::string user_id;
  std::time_t not_after = 0;  ///< the grant's expiry; the certificate never outlives it
};

/// Parses a PEM or DER PKCS#10 request (no policy check; issue_peer_certificate checks it).
Result<X509ReqPtr> read_csr(std::string_view data);

/// Issues a peer certificate over `csr`'s key, signed by `intermediate`. Checks the CSR's
/// self-signature and key policy (pki/csr.hpp: EC P-256/P-384 or RSA 2048-4096) and the grant's
/// fields; the CSR's subject and requested extensions are ignored (the profile decides). Validity:
/// from now to min(grant.not_after, the intermediate's notAfter); a grant already expired is
/// Errc::invalid_input. Order: build, lint, sign (the intermediate's hsm::Signer), verify.
/// The intermediate's BeforeSign hook (Issuer::set_before_sign) runs before signing, so a caller
/// can reserve the serial in its database first.
Result<X509Ptr> issue_peer_certificate(Issuer& intermediate, X509_REQ* csr, const PeerGrant& grant);

/// TEST FAULT HOOK, never for production paths: issues like issue_peer_certificate for `grant`
/// (name, validity) but writes `extension_values.grant_id` / `.user_id` into the two custom
/// extensions, so a test can make a registry issue a certificate whose OIDs do not match the grant
/// and prove the enrolling side refuses it. Only extension_values' grant_id and user_id are used.
Result<X509Ptr> issue_peer_certificate_with_extensions_for_test(Issuer& intermediate, X509_REQ* csr,
                                                                const PeerGrant& grant,
                                                                const PeerGrant& extension_values);

/// What the enrolling side expects the certificate to say.
struct ExpectedPeer {
  std::string peer_id;
  std::string grant_id;
  std::string user_id;
  /// When set: the certificate must certify this key (the one the CSR was made with).
  EVP_PKEY* public_key = nullptr;
};

/// What a peer certificate says.
struct PeerCertificateInfo {
  std::string peer_id;
  std::string grant_id;
  std::string user_id;
  std::time_t not_after = 0;
  std::string not_after_rfc3339;   ///< "2027-12-05T02:29:57Z"
  std::string fingerprint_sha256;  ///< lowercase hex of SHA-256 over the DER
  std::string serial;              ///< lowercase hex (serial_hex)
};

/// Reads the peer id (the one URN SAN), the two extensions (each present exactly once, a
/// UTF8String) and the validity of `cert`. Does NOT verify the chain: for a server whose TLS
/// layer already did. Errc::invalid_input with a distinct message per defect.
Result<PeerCertificateInfo> read_peer_certificate(X509* cert);

/// The enrolling side's check: verifies `cert` up to `pinned_root` through `chain` (the
/// intermediate(s)) with X509_verify_cert, purpose sslclient, at the current time; then that the
/// SAN is exactly the expected peer URN, and that both extensions are present exactly once with
/// exactly the expected values, and (when expected.public_key is set) that it certifies that key.
/// Errors (each with its own message): chain (Errc::crypto, naming OpenSSL's verify error), SAN,
/// extension or key mismatch, missing or duplicated extension (Errc::invalid_input).
Result<PeerCertificateInfo> check_peer_certificate(X509* cert, const std::vector<X509*>& chain,
                                                   X509* pinned_root, const ExpectedPeer& expected);

/// A peer's new key and its CSR.
struct PeerKey {
  SecretString
      private_key_pem;  ///< PKCS#8 PEM of an in-memory key (seal it); empty for a token key
  std::string key_ref;  ///< the pkcs11: reference of a token key (redact before logging)
  std::string csr_pem;  ///< PKCS#10, subject CN "peer <peerId>", SAN the peer URN
};

/// Makes a P-256 key and a CSR naming `peer_id`. `key_ref` empty: the key is generated in memory
/// and returned as PEM. `key_ref` a pkcs11: URI naming token and object: the key is created in the
/// token through hsm::KeyManager (an existing object is Errc::exists) and only its reference is
/// returned. Other references are Errc::usage.
Result<PeerKey> make_peer_key_and_csr(std::string_view peer_id, std::string_view key_ref = {},
                                      const hsm::Interaction& interaction = {});

/// Same, with the key created through `manager` (a key manager the caller keeps open for the
/// token, e.g. for the process lifetime). Prefer this in a long-running server: a KeyManager that
/// is destroyed releases its libp11 slots, and libp11 then closes every session of that slot
/// (C_CloseAllSessions), including those of other signers on the same token.
Result<PeerKey> make_peer_key_and_csr(std::string_view peer_id, hsm::KeyManager& manager,
                                      std::string_view key_ref);

/// SHA-256 of `cert`'s DER as lowercase hex (64 characters), as enrollment URLs carry it for
/// pinning. Empty when the certificate cannot be encoded.
std::string ca_fingerprint_sha256(X509* cert);

}  // namespace grafos::pki::federation
