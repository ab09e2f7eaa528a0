#include "util/file_io.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "util/bytes.hpp"
#include "util/secret.hpp"

namespace grafos {
namespace fs = std::filesystem;

namespace {

Error errno_error(Errc code, std::string_view what, const fs::path& path, int err) {
  return Error{code, std::string(what) + " '" + path.string() + "': " + std::strerror(err)};
}

fs::path temp_path_for(const fs::path& dest) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  unsigned char r[8];
  for (auto& b : r) b = static_cast<unsigned char>(rng());
  fs::path dir = dest.parent_path();
  if (dir.empty()) dir = ".";
  return dir / ("." + dest.filename().string() + ".tmp-" + to_hex(std::span(r)));
}

Result<void> write_all(int fd, std::string_view data, const fs::path& path) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(Errc::io, "writing", path, errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return ok();
}

bool exists_no_follow(const fs::path& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Writes `data` to a new temp file next to `dest` (created O_EXCL|O_NOFOLLOW with its final mode).
Result<fs::path> write_temp(const fs::path& dest, std::string_view data, const WriteOptions& o) {
  fs::path tmp = temp_path_for(dest);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, o.mode);
  if (fd < 0) return errno_error(Errc::io, "creating", tmp, errno);
  // A file others are meant to read (a certificate: 0644) gets its mode back if the umask
  // narrowed it; fchmod on our own fresh fd is not a race. An owner-only file (a private key,
  // 0600) is never chmod-ed: it keeps what open() gave it, which a umask can only narrow.
  if ((o.mode & 077) != 0 && ::fchmod(fd, o.mode) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return errno_error(Errc::io, "setting mode of", tmp, e);
  }
  auto w = write_all(fd, data, tmp);
  if (w && o.durable && ::fsync(fd) != 0) w = errno_error(Errc::io, "syncing", tmp, errno);
  if (::close(fd) != 0 && w) w = errno_error(Errc::io, "closing", tmp, errno);
  if (!w) {
    ::unlink(tmp.c_str());
    return std::move(w).error();
  }
  return tmp;
}

// Moves tmp to dest. Without overwrite, RENAME_NOREPLACE makes the existence check atomic.
Result<void> place(const fs::path& tmp, const fs::path& dest, bool overwrite) {
  unsigned flags = overwrite ? 0u : RENAME_NOREPLACE;
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dest.c_str(), flags) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    if (e == EEXIST)
      return Error{Errc::exists, "refusing to overwrite existing '" + dest.string() + "'"};
    return errno_error(Errc::io, "renaming into", dest, e);
  }
  return ok();
}

}  // namespace

Result<void> remove_file(const fs::path& path, std::string_view what) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return errno_error(Errc::io, "removing " + std::string(what), path, errno);
  return ok();
}

Result<void> sync_directory(const fs::path& dir) {
  fs::path d = dir.empty() ? fs::path(".") : dir;
  int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error(Errc::io, "opening directory", d, errno);
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return errno_error(Errc::io, "syncing directory", d, e);
  return ok();
}

Result<void> sync_filesystem(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(Errc::io, "opening", path, errno);
  int rc = ::syncfs(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return errno_error(Errc::io, "syncing filesystem of", path, e);
  return ok();
}

Result<void> write_file_atomic(const fs::path& path, std::string_view data,
                               const WriteOptions& options) {
  if (!options.overwrite && exists_no_follow(path))
    return Error{Errc::exists, "refusing to overwrite existing '" + path.string() + "'"};
  auto tmp = write_temp(path, data, options);
  if (!tmp) return std::move(tmp).error();
  if (auto r = place(*tmp, path, options.overwrite); !r) return r;
  if (options.durable) return sync_directory(path.parent_path());
  return ok();
}

FileTransaction::~FileTransaction() { abort(); }

void FileTransaction::abort() noexcept {
  for (auto& s : staged_) ::unlink(s.tmp.c_str());
  staged_.clear();
}

Result<void> FileTransaction::stage(const fs::path& path, std::string_view data,
                                    const WriteOptions& options) {
  if (!options.overwrite && exists_no_follow(path))
    return Error{Errc::exists, "refusing to overwrite existing '" + path.string() + "'"};
  auto tmp = write_temp(path, data, options);
  if (!tmp) return std::move(tmp).error();
  staged_.push_back({std::move(*tmp), path, options});
  return ok();
}

Result<void> ReplacedFiles::keep(const fs::path& dest) {
  if (kept(dest) || !exists_no_follow(dest)) return ok();
  fs::path dir = dest.parent_path();
  if (dir.empty()) dir = ".";
  // A hidden name beside the original (same filesystem, so link and rename cannot cross one).
  fs::path backup = temp_path_for(dir / (dest.filename().string() + ".orig"));
  if (::link(dest.c_str(), backup.c_str()) != 0)
    return errno_error(Errc::io, "keeping the original of", dest, errno);
  backups_.push_back({std::move(backup), dest});
  return ok();
}

bool ReplacedFiles::kept(const fs::path& dest) const {
  for (const auto& b : backups_)
    if (b.dest == dest) return true;
  return false;
}

void ReplacedFiles::restore() noexcept {
  for (auto it = backups_.rbegin(); it != backups_.rend(); ++it)
    ::rename(it->backup.c_str(), it->dest.c_str());
  backups_.clear();
}

void ReplacedFiles::discard() noexcept {
  for (const auto& b : backups_) ::unlink(b.backup.c_str());
  backups_.clear();
}

Result<void> FileTransaction::commit(ReplacedFiles* originals) {
  ReplacedFiles own;
  ReplacedFiles& replaced = originals ? *originals : own;
  std::vector<fs::path> placed;
  auto undo = [&](size_t next) {
    // Remove the temps not yet placed and what this commit placed, then put the originals back.
    for (size_t j = next; j < staged_.size(); ++j) ::unlink(staged_[j].tmp.c_str());
    for (auto& p : placed)
      if (!replaced.kept(p)) ::unlink(p.c_str());
    staged_.clear();
    own.restore();
  };
  for (size_t i = 0; i < staged_.size(); ++i) {
    auto& s = staged_[i];
    if (s.options.overwrite)
      if (auto r = replaced.keep(s.dest); !r) {
        undo(i);
        return r;
      }
    if (auto r = place(s.tmp, s.dest, s.options.overwrite); !r) {
      undo(i + 1);  // place() removed this temp
      return r;
    }
    placed.push_back(s.dest);
  }
  own.discard();
  bool durable = false;
  for (auto& s : staged_) durable = durable || s.options.durable;
  std::vector<fs::path> dirs;
  for (auto& s : staged_) {
    fs::path d = s.dest.parent_path();
    bool seen = false;
    for (auto& x : dirs) seen = seen || x == d;
    if (!seen) dirs.push_back(d);
  }
  staged_.clear();
  if (durable)
    for (auto& d : dirs)
      if (auto r = sync_directory(d); !r) return r;
  return ok();
}

Result<void> read_file_into(const fs::path& path, std::string& out, size_t max_size) {
  cleanse_string(out);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_error(errno == ENOENT ? Errc::file_missing : Errc::io, "reading", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error{Errc::invalid_input, "'" + path.string() + "' is not a regular file"};
  }
  auto too_large = [&] {
    return Error{Errc::invalid_input,
                 "'" + path.string() + "' is larger than " + std::to_string(max_size) + " bytes"};
  };
  if (static_cast<size_t>(st.st_size) > max_size) {
    ::close(fd);
    return too_large();
  }
  // The content may be a private key or a PIN: one byte more than the file's size is allocated up
  // front, so that end of file is seen without reallocating; a buffer is only ever given up after
  // it has been cleansed (the file grew while being read, or an error).
  std::string buf(static_cast<size_t>(st.st_size) + 1, '\0');
  size_t got = 0;
  auto fail = [&](Error e) {
    cleanse_string(buf);
    ::close(fd);
    return e;
  };
  while (true) {
    if (got == buf.size()) {
      if (got > max_size) return fail(too_large());
      std::string bigger(std::min(max_size + 1, 2 * buf.size()), '\0');
      std::memcpy(bigger.data(), buf.data(), got);
      cleanse_string(buf);
      buf.swap(bigger);
      cleanse_string(bigger);  // a short string's swap copies bytes instead of pointers
    }
    ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      return fail(errno_error(Errc::io, "reading", path, e));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  buf.resize(got);  // shrinking keeps the buffer
  out.swap(buf);
  cleanse_string(buf);  // a short string's swap copies bytes instead of pointers
  return ok();
}

Result<std::string> read_file(const fs::path& path, size_t max_size) {
  std::string out;
  if (auto r = read_file_into(path, out, max_size); !r) return std::move(r).error();
  return out;
}

Result<void> CreatedDirectories::create(const fs::path& dir, mode_t mode) {
  // The missing part of the path, innermost first, up to the first entry that exists.
  std::vector<fs::path> missing;
  fs::path p = dir.empty() ? fs::path(".") : dir.lexically_normal();
  if (p.has_relative_path() && !p.has_filename()) p = p.parent_path();  // "a/b/" -> "a/b"
  struct stat st;
  bool exists;
  while (!(exists = ::stat(p.c_str(), &st) == 0)) {
    // ENOTDIR: a parent is a file; walking up finds it and refuses it below.
    if (errno != ENOENT && errno != ENOTDIR)
      return errno_error(Errc::io, "checking directory", p, errno);
    missing.push_back(p);
    if (!p.has_parent_path() || p.parent_path() == p) break;
    p = p.parent_path();
  }
  if (exists && !S_ISDIR(st.st_mode))
    return Error{Errc::invalid_input, "'" + p.string() + "' exists and is not a directory"};
  const size_t before = dirs_.size();
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), mode) == 0) {
      ::chmod(it->c_str(), mode);  // a directory: the umask may have narrowed it
      dirs_.push_back(*it);
      continue;
    }
    int e = errno;
    if (e == EEXIST && ::stat(it->c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    remove_from(before);
    return errno_error(Errc::io, "creating directory", *it, e);
  }
  return ok();
}

Result<void> CreatedDirectories::sync() const {
  for (const auto& d : dirs_)
    if (auto r = sync_directory(d.parent_path()); !r) return r;
  return ok();
}

void CreatedDirectories::remove_from(size_t first) noexcept {
  while (dirs_.size() > first) {
    ::rmdir(dirs_.back().c_str());
    dirs_.pop_back();
  }
}

bool is_safe_path_component(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (unsigned char c : name)
    if (c == '/' || c < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace grafos
