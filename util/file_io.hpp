// File I/O with the guarantees the tools promise: atomic replacement (temp file, fsync, rename),
// no overwrite without being told, private modes set at creation (never chmod-ed afterwards),
// symlinks never followed, and no partial file left behind on failure.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace grafos {

/// How write_file_atomic behaves.
struct WriteOptions {
  mode_t mode = 0644;  ///< permissions given at creation (0600 for private keys)
  bool overwrite =
      false;            ///< replace an existing file (--force); a symlink is replaced, not followed
  bool durable = true;  ///< fsync the file and its directory before returning
};

/// Writes `data` to `path` atomically. Without `overwrite`, fails with Errc::exists when anything
/// (file, directory, symlink) is already at `path`, and the existing entry is left untouched.
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view data,
                               const WriteOptions& options = {});

/// The originals that a --force run replaces, kept as hidden hard links beside them (same inode,
/// same mode) until the run has succeeded (discard()) or failed (restore()), so that a run that
/// fails half-way never loses what it was replacing, a CA key least of all. The destructor
/// restores what was neither discarded nor restored.
class ReplacedFiles {
 public:
  ReplacedFiles() = default;
  ReplacedFiles(const ReplacedFiles&) = delete;
  ReplacedFiles& operator=(const ReplacedFiles&) = delete;
  ~ReplacedFiles() { restore(); }

  /// Keeps what is at `dest` (nothing to do when nothing is there).
  Result<void> keep(const std::filesystem::path& dest);
  /// Whether an original of `dest` is being kept.
  bool kept(const std::filesystem::path& dest) const;
  /// Puts every kept original back at its name (replacing what the run wrote there).
  void restore() noexcept;
  /// Forgets the originals: the run succeeded.
  void discard() noexcept;

 private:
  struct Backup {
    std::filesystem::path backup, dest;
  };
  std::vector<Backup> backups_;
};

/// A set of files written together: each is staged to a temp file, and commit() renames them all
/// into place only when every one was staged; on any failure nothing is left behind and nothing
/// that was replaced is lost.
class FileTransaction {
 public:
  FileTransaction() = default;
  FileTransaction(const FileTransaction&) = delete;
  FileTransaction& operator=(const FileTransaction&) = delete;
  ~FileTransaction();

  /// Checks the destination (unless overwrite) and writes a temp file beside it.
  Result<void> stage(const std::filesystem::path& path, std::string_view data,
                     const WriteOptions& options = {});
  /// Renames every staged file into place; on failure, removes what it had already placed and
  /// puts back the originals it had replaced. With `originals`, the replaced files are recorded
  /// there and kept until the caller discards or restores them (a batch of transactions that
  /// must succeed or fail together); otherwise they are discarded once every file is in place.
  Result<void> commit(ReplacedFiles* originals = nullptr);
  /// Removes every staged temp file (also done by the destructor when commit() was not called).
  void abort() noexcept;

 private:
  struct Staged {
    std::filesystem::path tmp, dest;
    WriteOptions options;
  };
  std::vector<Staged> staged_;
};

/// fsyncs a directory so that renames into it are durable.
Result<void> sync_directory(const std::filesystem::path& dir);

/// Removes the file at `path` (a symlink itself, never its target); one already gone is fine.
/// `what` names it in the error ("the key file").
Result<void> remove_file(const std::filesystem::path& path, std::string_view what);

/// Calls syncfs(2) on the filesystem holding `path`: one flush for a whole batch of files.
Result<void> sync_filesystem(const std::filesystem::path& path);

/// Reads a whole regular file (refusing anything larger than `max_size`). For secrets prefer
/// read_file_into: a short std::string returned through Result leaves copies of its bytes behind.
Result<std::string> read_file(const std::filesystem::path& path,
                              size_t max_size = 64u * 1024 * 1024);

/// Reads a whole regular file into `out` (refusing anything larger than `max_size`). The buffer is
/// sized once from the file's size and never reallocated unless the file grows while being read;
/// every buffer given up (growth, errors, the old content of `out`) is cleansed first.
Result<void> read_file_into(const std::filesystem::path& path, std::string& out,
                            size_t max_size = 64u * 1024 * 1024);

/// The directories a command created for its outputs, outermost first: a run that fails removes
/// them again (remove), one that succeeds makes their entries durable (sync).
class CreatedDirectories {
 public:
  /// Creates `dir` and each missing parent (mode: 0755 unless told, whatever the umask),
  /// remembering each one it made. Refuses when `dir` or a parent exists and is not a directory; on
  /// an error, what this call made is removed again.
  Result<void> create(const std::filesystem::path& dir, mode_t mode = 0755);
  bool empty() const { return dirs_.empty(); }
  /// fsyncs the parent of each created directory, so that its entry survives a power cut.
  Result<void> sync() const;
  /// Removes the created directories, innermost first; one that is not empty stays.
  void remove() noexcept { remove_from(0); }

 private:
  void remove_from(size_t first) noexcept;  // those created from dirs_[first] on
  std::vector<std::filesystem::path> dirs_;
};

/// True when `name` is safe as one path component inside an output folder (no '/', not "." or
/// "..", no NUL or control characters, not empty).
bool is_safe_path_component(std::string_view name);

}  // namespace grafos
