// The CA's certificate lifecycle after issuance, as grafos-ca's revoke, gen-crl, list-certs,
// ledger check and transcript commands run it: each opens the CA's ledger beside ca.pem (or the
// one --ledger names), does one thing, records it in the transcript and returns what the command
// prints. The ledger of a CA made before ledgers existed is created on first use (with a note).
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hsm/key_manager.hpp"
#include "pki/identity.hpp"
#include "pki/ledger.hpp"
#include "pki/transcript.hpp"
#include "util/ossl.hpp"
#include "util/result.hpp"

namespace grafos::pki {

/// The CA certificate with its ledger and transcript.
struct CaMemory {
  X509Ptr ca;
  std::unique_ptr<Ledger> ledger;
  std::filesystem::path transcript;
  std::string origin;              ///< transcript_origin(ca)
  std::vector<std::string> notes;  ///< for stderr: a ledger created on first use
};

/// Unix seconds as RFC 3339 UTC ("2026-12-05T01:02:03Z").
std::string utc(std::int64_t t);

/// Hex SHA-256 of the DER SubjectPublicKeyInfo of `key`.
Result<std::string> spki_sha256(EVP_PKEY* key);

/// Reads `ca_cert` and opens its ledger (`ledger`, or ca-ledger.db beside it); a missing ledger
/// is created when `create`, with a note. The transcript path is the default beside ca.pem.
Result<CaMemory> open_ca_memory(const std::string& ca_cert, const std::string& ledger, bool create);

/// The fields every transcript entry carries: op, time (RFC 3339 UTC), host, tool and the CA key
/// reference with secrets removed (empty: the operation did not use the key).
nlohmann::json transcript_entry(std::string_view op, std::string_view key_ref);

/// grafos-ca revoke.
struct RevokeRequest {
  std::string ca_cert;
  std::string ledger;  ///< empty: beside ca_cert
  std::string serial;  ///< hex (any case, optional 0x, leading zeros ignored)
  std::string cert;    ///< or: the certificate file to revoke
  std::string reason = "unspecified";
  std::string invalidity_date;  ///< RFC 3339 UTC ("2026-12-01T10:00:00Z"); empty: none
  std::string ca_key;           ///< signs the transcript checkpoint of the revocation
};

/// What revoke did.
struct RevokeResponse {
  LedgerEntry entry;
  std::string checkpoint;  ///< the signed note appended to the transcript
  std::vector<std::string> notes;
};

/// Revokes one certificate in the ledger and records it in the transcript.
Result<RevokeResponse> revoke_certificate(const RevokeRequest& req,
                                          const hsm::Interaction& interaction);

/// grafos-ca ledger void: a custodian's confirmation that a reserved serial (left by an
/// interrupted run) was never issued, so that it leaves the CRL.
struct VoidRequest {
  std::string ca_cert;
  std::string ledger;  ///< empty: beside ca_cert
  std::string serial;  ///< hex (any case, optional 0x, leading zeros ignored)
  std::string ca_key;  ///< signs the transcript checkpoint
  std::string note;    ///< why the custodian knows (recorded in the transcript)
};

/// What ledger void did.
struct VoidResponse {
  LedgerEntry entry;
  std::string checkpoint;
  std::vector<std::string> notes;
};

/// Marks a reserved serial void in the ledger and records it in the transcript. Refused
/// (Errc::invalid_input, nothing changed) for a serial that is not reserved, and for one whose
/// certificate is on disk at its recorded path (it was written: confirm it instead).
Result<VoidResponse> void_reserved_serial(const VoidRequest& req,
                                          const hsm::Interaction& interaction);

/// grafos-ca gen-crl.
struct GenCrlRequest {
  std::string ca_cert;
  std::string ca_key;
  std::string ledger;
  std::filesystem::path out;  ///< the CRL file (PEM)
  int next_update_days = 7;
  bool force = false;  ///< replace an existing file at out
};

/// What gen-crl did.
struct GenCrlResponse {
  std::filesystem::path path;
  std::int64_t crl_number = 0;
  std::size_t revoked = 0;   ///< entries for revoked certificates
  std::size_t reserved = 0;  ///< entries for possibly issued (reserved) serials
  std::string this_update, next_update;
  std::string checkpoint;
  std::vector<std::string> notes;
};

/// Builds the CRL from the ledger, signs it with the CA key, verifies it, writes it durably and
/// records it in the transcript.
Result<GenCrlResponse> generate_crl(const GenCrlRequest& req, const hsm::Interaction& interaction);

/// grafos-ca list-certs.
struct ListCertsRequest {
  std::string ca_cert;
  std::string ledger;
  std::string state;  ///< empty: all
  std::string role;   ///< empty: all
  std::optional<int> expiring_within_days;
};

/// The ledger rows that match.
Result<std::vector<LedgerEntry>> list_certificates(const ListCertsRequest& req,
                                                   std::vector<std::string>& notes);

/// grafos-ca ledger check.
struct LedgerCheckResponse {
  std::size_t rows = 0;
  std::vector<LedgerEntry> orphans;      ///< reserved rows: possibly issued by an interrupted run
  std::vector<LedgerEntry> recoverable;  ///< orphans whose certificate is on disk
  std::vector<LedgerEntry> confirmed;    ///< recoverable rows confirmed by this run (repair)
  std::vector<std::string> problems;
  std::vector<std::string> notes;
};

/// Checks the ledger: integrity (SQLite), every issued row's certificate file (when still at its
/// path) hashes to the recorded SHA-256, and reports reserved rows. A reserved row whose
/// certificate is on disk (its serial and TBS match the reservation: a run killed after writing
/// it) is listed in `recoverable`; with a CA key (`repair`), those are recorded in the transcript
/// and confirmed as issued. Rows with no certificate on disk stay reserved (possibly issued).
struct LedgerCheckRequest {
  std::string ca_cert;
  std::string ledger;
  std::string repair_key;  ///< the CA key: confirm the recoverable rows
};
Result<LedgerCheckResponse> check_ledger(const LedgerCheckRequest& req,
                                         const hsm::Interaction& interaction);

/// grafos-ca transcript verify.
struct TranscriptCheckRequest {
  std::string ca_cert;
  std::string ledger;      ///< empty: beside ca_cert
  std::string transcript;  ///< empty: beside ca_cert
  std::string checkpoint;  ///< a saved checkpoint (signed note file) the transcript must extend
};

/// Verifies the transcript with the CA certificate alone and cross-checks it against the ledger
/// when there is one: every issued or revoked serial has its entries. Problems are listed.
Result<TranscriptReport> check_transcript(const TranscriptCheckRequest& req);

/// One certificate an operation issued, for the transcript and the ledger's confirmation.
struct IssuedCert {
  std::string serial;          ///< serial_hex()
  std::string sha256;          ///< x509_sha256_fingerprint()
  std::string role;            ///< role_name()
  std::string identity;        ///< identity_label()
  std::filesystem::path path;  ///< where it was written

  /// The record of `cert`, issued for `id` and written to `path`.
  static IssuedCert of(X509* cert, const Identity& id, std::filesystem::path path);
};

/// What issuance records: a ledger row per certificate, reserved before the CA key signs and
/// confirmed after its files are durable, and transcript entries with a signed checkpoint.
class IssuanceRecorder {
 public:
  /// Opens the ledger of `ca` (the CA certificate read from `ca_cert`), creating it on first use.
  static Result<IssuanceRecorder> open(const std::string& ca_cert, X509* ca,
                                       const std::string& ledger, std::string key_ref);

  /// Reserves `tbs` (linted, not yet signed) for `id`, to be written at `path`, durably;
  /// Errc::exists for a serial in use.
  Result<void> reserve(X509* tbs, const Identity& id, const std::filesystem::path& path);
  /// One certificate of a batch chunk to reserve.
  struct Pending {
    X509* tbs;
    const Identity* identity;
    std::filesystem::path path;
  };
  /// Reserves several in one transaction (a batch chunk).
  Result<void> reserve_all(const std::vector<Pending>& tbs);
  /// Drops reservations of certificates that were never signed or never left this process.
  void release(const std::vector<std::string>& serials);
  /// After the files are durable: appends `op` entries for `certs` and a checkpoint signed by
  /// `signer`, then marks the rows issued. Returns the checkpoint.
  Result<std::string> confirm(std::string_view op, const std::vector<IssuedCert>& certs,
                              hsm::Signer& signer);
  /// Notes for stderr (a ledger created on first use, a torn transcript line removed).
  std::vector<std::string>& notes() { return memory_.notes; }

 private:
  explicit IssuanceRecorder(CaMemory m, std::string key_ref)
      : memory_(std::move(m)), key_ref_(std::move(key_ref)) {}
  CaMemory memory_;
  std::string key_ref_;
};

/// init-ca: a new ledger and transcript for a new CA, with the CA itself as the first row and
/// entry. Existing ones beside ca.pem (a replaced CA's, under --force) are kept under a name with
/// the old CA's fingerprint. Returns the checkpoint.
Result<std::string> record_new_ca(const std::filesystem::path& ca_cert_path, X509* ca,
                                  std::string_view key_ref, hsm::Signer& signer,
                                  std::vector<std::string>& notes);

}  // namespace grafos::pki
