// The ceremony transcript: an append-only, plain-text record of every CA operation beside the
// ledger (ca-transcript.log), which an auditor verifies offline with ca.pem alone.
//
// One JSON object per line. Entry lines ("type":"entry") are the leaves of an RFC 6962 Merkle
// tree, hashed over their exact bytes; each carries its position ("index") and how many
// checkpoints precede it ("checkpoints"), so a reordered or deleted entry, or a deleted
// checkpoint, is named. After each operation a checkpoint line ("type":"checkpoint") holds a
// C2SP tlog-checkpoint signed note (pki/checkpoint.hpp) over the tree of all entries before it,
// signed by the CA key.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hsm/key_manager.hpp"
#include "pki/checkpoint.hpp"
#include "util/result.hpp"

namespace grafos::pki {

/// <name>-transcript.log beside the CA certificate <name>.pem (ca.pem: ca-transcript.log).
std::filesystem::path default_transcript_path(const std::filesystem::path& ca_cert);

/// The transcript's origin (and note key name) for a CA: "grafos-ca/<first 16 hex of the SHA-256
/// of the CA certificate>".
std::string transcript_origin(X509* ca);

/// What an append did.
struct AppendResult {
  std::string checkpoint;      ///< the signed note appended last, to show the custodian
  Checkpoint tree;             ///< its size and root
  std::size_t torn_bytes = 0;  ///< bytes of an interrupted last line that were cut off first
};

/// Appends `entries` (JSON objects; "type", "index" and "checkpoints" are set here) and a
/// checkpoint signed by `signer`, durably (fsync). The existing transcript is read and its
/// entries re-hashed first, so the checkpoint covers everything before it. A last line cut short
/// by a crash is removed first (reported in torn_bytes).
Result<AppendResult> append_to_transcript(const std::filesystem::path& path,
                                          const std::string& origin, hsm::Signer& signer,
                                          std::vector<nlohmann::json> entries);

/// The same for `count` entries made one at a time by `entry(i)`, so that a batch of 10,000
/// never holds 10,000 JSON objects at once.
Result<AppendResult> append_to_transcript(const std::filesystem::path& path,
                                          const std::string& origin, hsm::Signer& signer,
                                          std::size_t count,
                                          const std::function<nlohmann::json(std::size_t)>& entry);

/// What verification found.
struct TranscriptReport {
  std::size_t entries = 0;
  std::size_t checkpoints = 0;
  std::optional<Checkpoint> last;             ///< the last checkpoint, if any
  std::vector<nlohmann::json> parsed;         ///< the entries, in order
  std::vector<std::string> checkpoint_notes;  ///< the notes, in order
  std::vector<std::string> problems;          ///< each problem named with its line; empty: sound
};

/// Verifies the transcript at `path` with the CA public key alone: every line parses, every entry
/// sits at its index after the stated number of checkpoints, every checkpoint's signature holds
/// and its root is the root of the entries before it, and the file ends with a checkpoint. Given
/// `saved` (a checkpoint an auditor kept), also proves that the transcript extends it (RFC 6962
/// consistency). Errc::file_missing/io when the file cannot be read; problems otherwise.
Result<TranscriptReport> verify_transcript(const std::filesystem::path& path,
                                           const std::string& origin, EVP_PKEY* ca_pub,
                                           const std::optional<std::string>& saved_note);

}  // namespace grafos::pki
