#include "util/seal.hpp"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/base64.hpp"
#include "util/bytes.hpp"
#include "util/ossl.hpp"

namespace grafos::seal {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kHeaderBytes = 1 + kSaltBytes + kNonceBytes;
// A sealed private key is a few hundred bytes; this bounds what open_sealed decodes.
constexpr std::size_t kMaxSealedText = 1024 * 1024;

using KdfPtr = std::unique_ptr<EVP_KDF, OsslDeleter<EVP_KDF_free>>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, OsslDeleter<EVP_KDF_CTX_free>>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OsslDeleter<EVP_CIPHER_CTX_free>>;

// A derived key, wiped when it goes.
struct Key {
  std::array<unsigned char, kKeyBytes> bytes{};
  ~Key() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

Result<void> check_secret(std::string_view secret) {
  if (secret.empty()) return Error{Errc::invalid_input, "the seal secret is empty"};
  if (secret.size() < kMinSecretBytes)
    return Error{Errc::invalid_input, "the seal secret is " + std::to_string(secret.size()) +
                                          " bytes; at least " + std::to_string(kMinSecretBytes) +
                                          " are required"};
  return ok();
}

Result<void> derive(std::string_view secret, const unsigned char* salt, Key& key) {
  KdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  KdfCtxPtr ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (!ctx) return ossl_error(Errc::crypto, "opening HKDF");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<unsigned char*>(salt),
                                        kSaltBytes),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(kHkdfInfo.data()),
                                        kHkdfInfo.size()),
      OSSL_PARAM_construct_end()};
  if (EVP_KDF_derive(ctx.get(), key.bytes.data(), key.bytes.size(), params) != 1)
    return ossl_error(Errc::crypto, "deriving the seal key (HKDF-SHA256)");
  return ok();
}

// GCM's AAD: the caller's AAD, then the blob header (version, salt, nonce). The caller's AAD goes
// in length-prefixed so that no split of (aad, header) bytes can be confused with another.
Result<void> feed_aad(EVP_CIPHER_CTX* ctx, std::string_view aad, const unsigned char* header) {
  unsigned char len[8];
  std::uint64_t n = aad.size();
  for (int i = 7; i >= 0; --i, n >>= 8) len[i] = static_cast<unsigned char>(n & 0xff);
  int out = 0;
  if (EVP_CipherUpdate(ctx, nullptr, &out, len, sizeof len) != 1 ||
      (!aad.empty() &&
       EVP_CipherUpdate(ctx, nullptr, &out, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1) ||
      EVP_CipherUpdate(ctx, nullptr, &out, header, static_cast<int>(kHeaderBytes)) != 1)
    return ossl_error(Errc::crypto, "feeding the associated data to AES-256-GCM");
  return ok();
}

Error open_failed(std::string_view why) {
  return Error{Errc::seal_open_failed,
               "the sealed data cannot be opened: " + std::string(why) +
                   " (a wrong seal secret, a different peer id, or a modified or truncated row)"};
}

}  // namespace

Result<std::string> seal(std::string_view secret, std::string_view aad,
                         std::string_view plaintext) {
  if (auto r = check_secret(secret); !r) return r.error();
  if (plaintext.size() > kMaxSealedText)
    return Error{Errc::invalid_input, "the data to seal is larger than 1 MiB"};
  Bytes blob(kHeaderBytes + plaintext.size() + kTagBytes);
  blob[0] = kVersion;
  unsigned char* salt = blob.data() + 1;
  unsigned char* nonce = salt + kSaltBytes;
  if (RAND_bytes(salt, static_cast<int>(kSaltBytes + kNonceBytes)) != 1)
    return ossl_error(Errc::crypto, "drawing the seal salt and nonce");
  Key key;
  if (auto r = derive(secret, salt, key); !r) return r.error();
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx ||
      EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key.bytes.data(), nonce, nullptr) != 1)
    return ossl_error(Errc::crypto, "starting AES-256-GCM");
  if (auto r = feed_aad(ctx.get(), aad, blob.data()); !r) return r.error();
  unsigned char* ct = blob.data() + kHeaderBytes;
  int len = 0;
  int total = 0;
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(ctx.get(), ct, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1)
    return ossl_error(Errc::crypto, "encrypting with AES-256-GCM");
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), ct + total, &len) != 1)
    return ossl_error(Errc::crypto, "finishing AES-256-GCM");
  total += len;
  if (static_cast<std::size_t>(total) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          ct + total) != 1)
    return ossl_error(Errc::crypto, "reading the AES-256-GCM tag");
  return base64_encode(std::span<const unsigned char>(blob.data(), blob.size()));
}

Result<SecretString> open_sealed(std::string_view secret, std::string_view aad,
                                 std::string_view sealed) {
  if (auto r = check_secret(secret); !r) return r.error();
  if (sealed.size() > kMaxSealedText * 2) return open_failed("it is larger than any sealed row");
  auto decoded = base64_decode(sealed);
  if (!decoded) return open_failed("it is not base64");
  const Bytes& blob = *decoded;
  if (blob.size() < kHeaderBytes + kTagBytes) return open_failed("it is too short");
  if (blob[0] != kVersion)
    return open_failed("unknown format version " + std::to_string(blob[0]) + " (this build reads " +
                       std::to_string(kVersion) + ")");
  const unsigned char* salt = blob.data() + 1;
  const unsigned char* nonce = salt + kSaltBytes;
  const unsigned char* ct = blob.data() + kHeaderBytes;
  const std::size_t ct_len = blob.size() - kHeaderBytes - kTagBytes;
  Key key;
  if (auto r = derive(secret, salt, key); !r) return r.error();
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx ||
      EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key.bytes.data(), nonce, nullptr) != 1)
    return ossl_error(Errc::crypto, "starting AES-256-GCM");
  if (auto r = feed_aad(ctx.get(), aad, blob.data()); !r) return r.error();
  std::string plain(ct_len, '\0');
  auto wipe = [&] { cleanse_string(plain); };
  int len = 0;
  if (ct_len > 0 && EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()),
                                      &len, ct, static_cast<int>(ct_len)) != 1) {
    wipe();
    return ossl_error(Errc::crypto, "decrypting with AES-256-GCM");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes),
                          const_cast<unsigned char*>(ct + ct_len)) != 1) {
    wipe();
    return ossl_error(Errc::crypto, "setting the AES-256-GCM tag");
  }
  int fin = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len, &fin) !=
      1) {
    drain_ossl_errors();
    wipe();
    return open_failed("the authentication tag does not verify");
  }
  return SecretString(std::move(plain));
}

Result<SecretString> read_seal_secret(const std::string& secret_file) {
  SecretString secret;
  if (!secret_file.empty()) {
    int fd = ::open(secret_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
      int e = errno;
      return Error{e == ENOENT ? Errc::file_missing : Errc::io,
                   "seal secret file '" + secret_file + "': " + std::strerror(e)};
    }
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return Error{Errc::invalid_input,
                   "seal secret file '" + secret_file + "' is not a regular file"};
    }
    if (st.st_mode & 077) {
      ::close(fd);
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return Error{Errc::invalid_input, "seal secret file '" + secret_file + "' has mode " + mode +
                                            "; it must not be readable or writable by group or "
                                            "others (chmod 600)"};
    }
    std::string content;
    content.reserve(64 * 1024 + 1);  // never reallocated: no unwiped copy left on the heap
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int e = errno;
        ::close(fd);
        OPENSSL_cleanse(buf, sizeof buf);
        cleanse_string(content);
        return Error{Errc::io,
                     "reading seal secret file '" + secret_file + "': " + std::strerror(e)};
      }
      if (n == 0) break;
      if (content.size() + static_cast<std::size_t>(n) > 64 * 1024) {
        ::close(fd);
        OPENSSL_cleanse(buf, sizeof buf);
        cleanse_string(content);
        return Error{Errc::invalid_input,
                     "seal secret file '" + secret_file + "' is larger than 64 KiB"};
      }
      content.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    OPENSSL_cleanse(buf, sizeof buf);
    // The first line, without its line end.
    if (auto nl = content.find('\n'); nl != std::string::npos) {
      OPENSSL_cleanse(content.data() + nl, content.size() - nl);
      content.resize(nl);
    }
    if (!content.empty() && content.back() == '\r') content.pop_back();
    secret = SecretString(std::move(content));
    if (auto r = check_secret(secret.view()); !r)
      return std::move(r).error().context("seal secret file '" + secret_file + "'");
    return secret;
  }
  auto env = read_secret_env(kSealSecretEnv);
  if (!env) return std::move(env).error();
  if (auto r = check_secret(env->view()); !r) return std::move(r).error().context(kSealSecretEnv);
  return std::move(*env);
}

}  // namespace grafos::seal
