#include "provenance/hash.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <numeric>
#include <thread>

#include "util/bytes.hpp"
#include "util/ossl.hpp"

namespace grafos::provenance {

std::string_view file_status_name(FileStatus s) {
  switch (s) {
    case FileStatus::ok:
      return "ok";
    case FileStatus::missing:
      return "missing";
    case FileStatus::not_regular:
      return "not_regular_file";
    case FileStatus::unreadable:
      return "unreadable";
  }
  return "unreadable";
}

namespace {

std::string kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

FileDigest fail(FileStatus s, std::string message) {
  FileDigest d;
  d.status = s;
  d.message = std::move(message);
  return d;
}

FileDigest errno_digest(int err, const std::string& what) {
  FileStatus s = (err == ENOENT || err == ENOTDIR || err == ELOOP) ? FileStatus::missing
                                                                   : FileStatus::unreadable;
  return fail(s, what + ": " + std::strerror(err));
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Hashes one file with `buf`; adds progress to `done`.
FileDigest hash_one(const std::string& path, const EVP_MD* md, unsigned char* buf, size_t buf_size,
                    std::atomic<uint64_t>& done, const HashOptions& opt, uint64_t total) {
  // A device node is never opened (opening some has side effects: a tape rewinds, a watchdog
  // arms). O_PATH names the inode without opening it; only once fstat says it is a regular file
  // is that same inode opened for reading, through /proc/self/fd, so a path swapped for a device
  // in between cannot be opened either.
  Fd p;
  p.fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
  if (p.fd < 0) return errno_digest(errno, "cannot stat");
  struct stat st {};
  if (::fstat(p.fd, &st) != 0) return errno_digest(errno, "cannot stat");
  if (!S_ISREG(st.st_mode)) return fail(FileStatus::not_regular, "is " + kind_of(st.st_mode));
  Fd f;
  const std::string by_fd = "/proc/self/fd/" + std::to_string(p.fd);
  f.fd = ::open(by_fd.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (f.fd < 0 && errno == ENOENT) {
    // No /proc (a minimal chroot): open the path; the inode check below catches a swap, and a
    // swap to a device in this window is the only exposure left.
    f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  }
  if (f.fd < 0) return errno_digest(errno, "cannot open");
  struct stat st2 {};
  if (::fstat(f.fd, &st2) != 0) return errno_digest(errno, "cannot stat");
  if (!S_ISREG(st2.st_mode) || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev)
    return fail(FileStatus::not_regular, "was replaced while being opened");
  (void)::posix_fadvise(f.fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1) {
    drain_ossl_errors();
    return fail(FileStatus::unreadable, "cannot initialise SHA-256");
  }
  uint64_t size = 0;
  uint64_t unreported = 0;
  for (;;) {
    ssize_t n = ::read(f.fd, buf, buf_size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_digest(errno, "read failed");
    }
    if (n == 0) break;
    if (EVP_DigestUpdate(ctx.get(), buf, static_cast<size_t>(n)) != 1) {
      drain_ossl_errors();
      return fail(FileStatus::unreadable, "SHA-256 update failed");
    }
    size += static_cast<uint64_t>(n);
    unreported += static_cast<uint64_t>(n);
    if (opt.progress && unreported >= (16u << 20)) {
      opt.progress(done.fetch_add(unreported) + unreported, total);
      unreported = 0;
    }
  }
  if (opt.progress && unreported) opt.progress(done.fetch_add(unreported) + unreported, total);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) {
    drain_ossl_errors();
    return fail(FileStatus::unreadable, "SHA-256 final failed");
  }
  FileDigest d;
  d.status = FileStatus::ok;
  d.sha256 = to_hex(std::span<const unsigned char>(digest, len));
  d.size = size;
  return d;
}

constexpr unsigned kMaxThreads = 16;

struct FreeDeleter {
  void operator()(unsigned char* p) const noexcept { std::free(p); }
};

}  // namespace

std::vector<FileDigest> hash_files(const std::vector<std::string>& paths,
                                   const HashOptions& options) {
  std::vector<FileDigest> out(paths.size());
  if (paths.empty()) return out;
  // Largest first: with a few workers the long files start early and the tail stays short.
  std::vector<uint64_t> sizes(paths.size(), 0);
  uint64_t total = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    struct stat st {};
    if (::stat(paths[i].c_str(), &st) == 0 && S_ISREG(st.st_mode))
      sizes[i] = static_cast<uint64_t>(st.st_size);
    total += sizes[i];
  }
  std::vector<size_t> order(paths.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });

  // Bounded pool: memory is threads x buffer_size, so the default never exceeds kMaxThreads.
  unsigned threads = options.threads ? options.threads
                                     : std::min(std::thread::hardware_concurrency(), kMaxThreads);
  if (threads == 0) threads = 1;
  threads = static_cast<unsigned>(std::min<size_t>(threads, paths.size()));
  size_t buf_size = std::max<size_t>(options.buffer_size, 64u << 10);

  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // fetched once, shared by workers
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> done{0};
  auto worker = [&] {
    std::unique_ptr<unsigned char, FreeDeleter> buf(
        static_cast<unsigned char*>(std::aligned_alloc(4096, (buf_size + 4095) & ~size_t{4095})));
    for (;;) {
      size_t k = next.fetch_add(1);
      if (k >= order.size()) break;
      size_t i = order[k];
      if (!md || !buf)
        out[i] = fail(FileStatus::unreadable, "cannot set up SHA-256");
      else
        out[i] = hash_one(paths[i], md, buf.get(), buf_size, done, options, total);
    }
  };
  // The calling thread is one of the workers; if a thread cannot be started, fewer run.
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) {
    try {
      pool.emplace_back(worker);
    } catch (...) {
      break;
    }
  }
  worker();
  for (auto& t : pool) t.join();
  EVP_MD_free(md);
  drain_ossl_errors();
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return to_hex(std::span<const unsigned char>(digest, len));
}

}  // namespace grafos::provenance
