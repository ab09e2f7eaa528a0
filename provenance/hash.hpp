// Parallel SHA-256 of image binaries: the hot path of build and verify.
//
// OpenSSL EVP SHA-256 (SHA-NI where the CPU has it), large sequential read(2)s into one buffer per
// worker (posix_fadvise SEQUENTIAL), and a bounded pool of workers taking files largest first.
// Memory stays at workers x buffer_size whatever the image size. Only regular files are hashed:
// a directory, device, FIFO or socket in place of a binary is reported, never opened.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace grafos::provenance {

/// Outcome of hashing one file.
enum class FileStatus {
  ok,           ///< hashed; sha256 and size are set
  missing,      ///< no such file (or a dangling symlink)
  not_regular,  ///< a directory, device, FIFO or socket
  unreadable,   ///< permission denied or an I/O error
};

/// Stable name of a FileStatus ("ok", "missing", "not_regular_file", "unreadable").
std::string_view file_status_name(FileStatus s);

/// The digest of one file, or why there is none.
struct FileDigest {
  FileStatus status = FileStatus::unreadable;
  std::string sha256;   ///< lowercase hex, set when status == ok
  uint64_t size = 0;    ///< bytes hashed, set when status == ok
  std::string message;  ///< why, when status != ok
};

/// How hash_files runs.
struct HashOptions {
  unsigned threads = 0;           ///< workers; 0 = one per online CPU, at most 16
  size_t buffer_size = 2u << 20;  ///< read size per worker
  /// Called from worker threads (must be thread-safe) with bytes hashed so far and the total.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

/// Hashes every path (results in the same order). Never fails as a whole: each file has a status.
std::vector<FileDigest> hash_files(const std::vector<std::string>& paths,
                                   const HashOptions& options = {});

/// SHA-256 of a memory buffer as lowercase hex.
std::string sha256_hex(std::string_view data);

}  // namespace grafos::provenance
