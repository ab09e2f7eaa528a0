// The CA ceremonies behind grafos-ca's certificate commands: init-ca, issue-cert (one identity,
// from a CSR, or a batch file) and issue-server-cert. Each validates everything it can before the
// CA key is touched, and writes its outputs together or not at all.
//
// Output names (the seed's contract): ca.pem + ca-key.pem, client.pem + client-key.pem,
// server.pem + server-key.pem. Private keys are created 0600 with O_EXCL|O_NOFOLLOW; an existing
// output is never replaced without `force`, and a symbolic link at an output path is always
// refused.
//
// Batch file format (issue-cert --batch), one identity per line, fields separated by blanks:
//   tenant <name>
//   fabric-observer
//   fabric-admin
//   cell <provider> <cell_id>
//   provenance-signer <pipeline>
//   server <san>[,<san>...]
// Blank lines and lines whose first non-blank character is '#' are ignored. Each identity is
// written to its own folder under the output folder: tenant-<name>, fabric-observer,
// fabric-admin, cell-<provider>-<cell_id>, provenance-signer-<pipeline>, server-<first SAN>.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hsm/key_manager.hpp"
#include "pki/identity.hpp"
#include "pki/issuer.hpp"

namespace grafos::pki {

/// What a command wrote, for the tool's human or --json output.
struct WrittenCert {
  Role role = Role::tenant;
  std::string identity;               ///< identity_label()
  std::filesystem::path certificate;  ///< the certificate file
  std::filesystem::path private_key;  ///< the key file; empty when none was written
  std::string key_ref;                ///< CA key reference (redacted) for init-ca
  std::string subject;                ///< "CN=..."
  std::string serial;                 ///< lowercase hex
  std::string sha256;                 ///< SHA-256 fingerprint of the DER certificate
  std::string not_before, not_after;  ///< RFC 3339 UTC
  std::vector<std::string> san;       ///< "URI:...", "DNS:...", "IP:..."
  std::string checkpoint;             ///< the transcript checkpoint the operation ended with
  std::vector<std::string> notes;     ///< for stderr (a ledger created on first use, ...)
};

/// init-ca.
/// How messages name a request's inputs and options. The defaults read well anywhere; a tool
/// passes its flags, so that a refusal points at the flag to change (pki never names a flag).
struct InputNames {
  std::string ca_cert = "the CA certificate";
  std::string csr = "the CSR";
  std::string batch = "the batch file";
  std::string out = "the output folder";
  std::string replace_key = "key replacement";  ///< replacing an existing token key object
};

struct InitCaRequest {
  std::filesystem::path out = ".";  ///< folder for ca.pem (and ca-key.pem)
  std::string common_name = "fabricBIOS Fabric CA";
  int days = 3650;
  std::string key;  ///< path or pkcs11: URI; empty: <out>/ca-key.pem
  int path_len = 1;
  bool force = false;        ///< replace existing ca.pem / ca-key.pem
  bool replace_key = false;  ///< replace an existing token object of that name
  InputNames names;          ///< how messages name the inputs
};

/// Creates the CA key (a new 0600 PEM file, or inside a token) and the self-signed ca.pem.
Result<WrittenCert> init_ca(const InitCaRequest& req, const hsm::Interaction& interaction);

/// One leaf (issue-cert or issue-server-cert).
struct LeafRequest {
  std::string ca_cert;  ///< path of ca.pem
  std::string ca_key;   ///< path or pkcs11: URI of the CA key
  Identity identity;    ///< validated identity
  std::filesystem::path out = ".";
  std::optional<int> days;  ///< default: the profile's (365)
  std::string csr;          ///< sign this CSR instead of generating a key
  bool force = false;
  std::string ledger;  ///< the CA's ledger; empty: ca-ledger.db beside ca_cert
  InputNames names;    ///< how messages name the inputs
};

/// Issues one certificate into `out` (client.pem/client-key.pem or server.pem/server-key.pem).
Result<WrittenCert> issue_leaf(const LeafRequest& req, const hsm::Interaction& interaction);

/// issue-cert --batch.
struct BatchRequest {
  std::string ca_cert;
  std::string ca_key;
  std::string batch_file;
  std::filesystem::path out = ".";
  std::optional<int> days;
  bool force = false;
  std::string ledger;  ///< the CA's ledger; empty: ca-ledger.db beside ca_cert
  InputNames names;    ///< how messages name the inputs
};

/// What a batch did.
struct BatchOutcome {
  size_t issued = 0;
  std::string checkpoint;          ///< the transcript checkpoint of the whole batch
  std::vector<std::string> notes;  ///< for stderr
};

/// Validates the whole batch file, loads the CA key once (one token login), then issues every
/// identity into its own folder. Files are written without per-file fsync; one syncfs plus
/// directory syncs make everything durable before it returns. On failure, what this run wrote
/// is removed again. `on_issued` is called after each identity is written.
Result<BatchOutcome> issue_batch(const BatchRequest& req, const hsm::Interaction& interaction,
                                 const std::function<void(const WrittenCert&)>& on_issued);

/// One parsed batch line.
struct BatchEntry {
  size_t line = 0;
  Identity identity;
};

/// Parses a batch file (format above); errors name the line and the rule.
Result<std::vector<BatchEntry>> parse_batch(std::string_view text);

/// The folder name of a batch identity ("cell-aws-42").
std::string batch_folder_name(const Identity& id);

/// Reads the CA certificate and opens the CA key as a Signer that matches it.
Result<Issuer> load_issuer(const std::string& ca_cert, const std::string& ca_key,
                           const hsm::Interaction& interaction);

/// Same, with the CA certificate already read (read_ca_certificate()).
Result<Issuer> load_issuer(X509Ptr ca_cert, const std::string& ca_key,
                           const hsm::Interaction& interaction);

/// Reads the PEM CA certificate at `ca_cert` (errors name --ca-cert).
Result<X509Ptr> read_ca_certificate(const std::string& ca_cert,
                                    std::string_view name = "the CA certificate");

/// Certificate and key file names for a role: {"client.pem","client-key.pem"} and so on.
std::pair<std::string, std::string> output_names(Role role);

/// Default --days of issue-intermediate.
inline constexpr int kIntermediateDefaultDays = 365;

/// issue-intermediate: the online enrollment intermediate of the fabric CA (DESIGN.md section
/// 10; the root stays offline). Profile: CN kIntermediateCommonName, SAN
/// URI:urn:fabricbios:enrollment-intermediate, critical CA:TRUE pathLen 0, critical keyCertSign +
/// cRLSign, extendedKeyUsage clientAuth only (RFC 5280 leaves EKU in CA certificates undefined,
/// but OpenSSL, Go and NSS treat it as a constraint on the chain, so the intermediate cannot issue
/// a server or code-signing certificate that verifies). Default validity 365 days, never beyond
/// the root. Outputs: <out>/intermediate.pem, and <out>/intermediate-key.pem when the key is a
/// file this command creates (0600). Recorded in the root's ledger and transcript like a leaf.
struct IntermediateRequest {
  std::string ca_cert;  ///< path of the root's ca.pem
  std::string ca_key;   ///< the root key reference
  /// The intermediate key: an existing or new PEM file, or a pkcs11: URI (the key is created in
  /// the token when the object does not exist; an existing object is used). Empty:
  /// <out>/intermediate-key.pem.
  std::string key;
  std::filesystem::path out = ".";
  int days = kIntermediateDefaultDays;
  bool force = false;  ///< replace an existing intermediate.pem (a key file is never replaced)
  std::string ledger;  ///< the root's ledger; empty: ca-ledger.db beside ca_cert
};

/// Issues the intermediate into `out`. Everything is validated before the root key signs; on
/// failure nothing is left behind (a key this run created is removed again).
Result<WrittenCert> issue_intermediate(const IntermediateRequest& req,
                                       const hsm::Interaction& interaction);

}  // namespace grafos::pki
