// The CA's ledger: every certificate the CA signs, as one SQLite row (WAL, synchronous=FULL)
// beside ca.pem (ca-ledger.db), the source of truth for revocation and CRLs.
//
// Write-ahead order, as boulder does with serials: a row is committed `reserved` before the CA key
// signs, and becomes `issued` only after the certificate verified and its files are durable. A
// crash in between leaves a `reserved` row, which `ledger check` reports and the next CRL lists
// as possibly issued. A serial is never reused; a public key certified for another identity, or
// the CA's own key, is refused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "util/sqlite.hpp"

namespace grafos::pki {

/// Where a certificate is in its life. `voided`: a reserved serial an operator confirmed was never
/// issued (`ledger void`); it stays in the ledger so that it is never drawn again, and leaves the
/// CRL.
enum class CertState { reserved, issued, revoked, voided };

/// "reserved", "issued", "revoked", "void".
std::string_view cert_state_name(CertState s);
/// Parses a state name; Errc::usage lists the names.
Result<CertState> parse_cert_state(std::string_view s);

/// RFC 5280 CRLReason codes a CA custodian may give (certificateHold and removeFromCRL are not
/// offered: a fabric CA revokes for good).
enum class RevocationReason : int {
  unspecified = 0,
  key_compromise = 1,
  ca_compromise = 2,
  affiliation_changed = 3,
  superseded = 4,
  cessation_of_operation = 5,
  privilege_withdrawn = 9,
  aa_compromise = 10,
};

/// RFC 5280 name: "keyCompromise", ...
std::string_view revocation_reason_name(RevocationReason r);
/// Parses an RFC 5280 name (any case, with or without '-' / '_'); Errc::usage lists the names.
Result<RevocationReason> parse_revocation_reason(std::string_view s);

/// One ledger row.
struct LedgerEntry {
  std::string serial;    ///< lowercase hex, as grafos-ca prints it
  std::string role;      ///< role name (tenant, cell, server, ...; "ca" for the CA itself)
  std::string identity;  ///< identity_label()
  std::string subject;   ///< "CN=..."
  std::string san;       ///< "URI:...,DNS:..." as issued
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::string spki_sha256;  ///< hex SHA-256 of the DER SubjectPublicKeyInfo
  std::string tbs_sha256;   ///< hex SHA-256 of the DER TBSCertificate (set at reserve)
  std::string cert_sha256;  ///< hex SHA-256 of the DER certificate (set at confirm)
  CertState state = CertState::reserved;
  std::int64_t reserved_at = 0;
  std::optional<std::int64_t> issued_at;
  std::optional<std::int64_t> revoked_at;
  std::optional<RevocationReason> reason;
  std::optional<std::int64_t> invalidity_date;
  std::string path;  ///< the certificate file (set at reserve: where it is being written)
};

/// list() filters; all optional.
struct LedgerFilter {
  std::optional<CertState> state;
  std::optional<std::string> role;
  std::optional<std::int64_t> not_after_before;  ///< only rows expiring before this time
};

/// The ledger of one CA.
class Ledger {
 public:
  /// <name>-ledger.db beside the CA certificate <name>.pem (ca.pem: ca-ledger.db).
  static std::filesystem::path default_path(const std::filesystem::path& ca_cert);

  /// Opens the ledger at `path` for the CA whose DER certificate hashes to `ca_sha256` and whose
  /// key's SPKI hashes to `ca_spki_sha256`; `create` makes a new one (mode 0600). A ledger of
  /// another CA is refused (Errc::invalid_input), a missing one without `create` is
  /// Errc::file_missing.
  static Result<std::unique_ptr<Ledger>> open(const std::filesystem::path& path,
                                              std::string_view ca_sha256,
                                              std::string_view ca_spki_sha256, bool create);

  /// Commits `e` as reserved (durable on return). Errc::exists when the serial is in the ledger
  /// (the caller draws another); Errc::invalid_input when the key is the CA's own or is already
  /// certified for another identity.
  Result<void> reserve(const LedgerEntry& e);
  /// Marks a reserved row issued, with the certificate's hash and file.
  Result<void> confirm(std::string_view serial, std::string_view cert_sha256, std::string_view path,
                       std::int64_t now);
  /// Removes a reserved row whose certificate was never signed (the key refused, the linter
  /// refused, the signature did not verify). Rows that may have been signed stay.
  Result<void> release(std::string_view serial);
  /// Revokes an issued (or reserved: possibly issued) row. Errc::invalid_input for an unknown
  /// serial, a row already revoked, or the CA's own certificate; nothing changes then.
  Result<LedgerEntry> revoke(std::string_view serial, RevocationReason reason, std::int64_t now,
                             std::optional<std::int64_t> invalidity_date);
  /// Marks a reserved row void: an operator confirmed that its certificate was never issued.
  /// Errc::invalid_input for an unknown serial or a row that is not reserved; nothing changes
  /// then.
  Result<LedgerEntry> void_reserved(std::string_view serial);
  /// The row of `serial`, if any.
  Result<std::optional<LedgerEntry>> find(std::string_view serial);
  /// Rows matching `f`, oldest first.
  Result<std::vector<LedgerEntry>> list(const LedgerFilter& f);
  /// Takes the next CRL number (1, 2, ...), durably: never handed out twice.
  Result<std::int64_t> next_crl_number();
  /// A value kept in the ledger's meta table (the transcript's size and root, say).
  Result<std::optional<std::string>> meta(std::string_view key);
  Result<void> set_meta(std::string_view key, std::string_view value);
  /// SQLite's integrity check: empty when sound, else what it found.
  Result<std::vector<std::string>> integrity_problems();
  /// Starts a transaction spanning several calls (batches reserve and confirm in groups).
  Result<SqliteTransaction> begin() { return SqliteTransaction::begin(*db_); }

 private:
  Ledger() = default;
  /// Brings an older ledger's schema to this version (in one transaction).
  Result<void> migrate();
  std::unique_ptr<SqliteDb> db_;
  std::string ca_spki_;
};

}  // namespace grafos::pki
