#include "hsm/token_init.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cctype>
#include <cerrno>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include "grafos_config.h"
#if HAVE_PKCS11
#include "hsm/pkcs11/p11_error.hpp"
#include "hsm/pkcs11/p11_module.hpp"
#endif

namespace grafos::hsm {

namespace {

constexpr size_t kMaxPinFile = 4096;

// RFC 7512: pk11-pchar (path attributes) and pk11-qchar (query attributes, which may also hold
// '/' and '|'); everything else percent-encoded.
std::string uri_encode(std::string_view in, bool query) {
  std::string out;
  for (unsigned char c : in) {
    bool plain = std::isalnum(c) || std::strchr("-._~:[]@!$'()*+,=", c) != nullptr ||
                 (query && (c == '/' || c == '|'));
    if (plain && c != '\0') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace

Result<SecretString> read_private_pin_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return Error{e == ENOENT ? Errc::file_missing : Errc::io,
                 "PIN file '" + path + "': " + std::strerror(e)};
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error{Errc::invalid_input, "PIN file '" + path + "' is not a regular file"};
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Error{Errc::invalid_input, "PIN file '" + path + "' has mode " + mode +
                                          ": other users may read it; make it 0600 (chmod 600)"};
  }
  std::string content;
  content.reserve(kMaxPinFile + 1);  // never reallocated: no unwiped copy left on the heap
  char buf[512];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      cleanse_string(content);
      return Error{Errc::io, "reading PIN file '" + path + "': " + std::strerror(e)};
    }
    if (n == 0) break;
    if (content.size() + static_cast<size_t>(n) > kMaxPinFile) {
      ::close(fd);
      cleanse_string(content);
      OPENSSL_cleanse(buf, sizeof buf);
      return Error{Errc::invalid_input, "PIN file '" + path + "' is too large for a PIN"};
    }
    content.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  OPENSSL_cleanse(buf, sizeof buf);
  if (auto nl = content.find_first_of("\r\n"); nl != std::string::npos) {
    OPENSSL_cleanse(content.data() + nl, content.size() - nl);
    content.resize(nl);
  }
  if (content.empty()) return Error{Errc::invalid_input, "PIN file '" + path + "' is empty"};
  return SecretString(std::move(content));
}

std::string pkcs11_key_uri(std::string_view module, std::string_view label, std::string_view object,
                           std::string_view pin_file) {
  std::string uri = "pkcs11:token=" + uri_encode(label, false) +
                    ";object=" + uri_encode(object, false) +
                    "?module-path=" + uri_encode(module, true);
  if (!pin_file.empty()) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(std::filesystem::path(pin_file), ec);
    uri += "&pin-source=file:" + uri_encode(ec ? std::string(pin_file) : abs.string(), true);
  }
  return uri;
}

#if HAVE_PKCS11

namespace {

std::string trimmed(const unsigned char* field, size_t size) {
  std::string s(reinterpret_cast<const char*>(field), size);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

CK_UTF8CHAR_PTR utf8(const SecretString& pin) {
  return reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.c_str()));
}

struct SlotToken {
  CK_SLOT_ID slot;
  CK_TOKEN_INFO info;
};

Result<std::vector<SlotToken>> tokens_of(CK_FUNCTION_LIST_PTR f, std::string_view where) {
  CK_ULONG n = 0;
  if (CK_RV rv = f->C_GetSlotList(CK_TRUE, nullptr, &n); rv != CKR_OK)
    return ck_error(rv, "C_GetSlotList", where);
  std::vector<CK_SLOT_ID> slots(n);
  if (CK_RV rv = f->C_GetSlotList(CK_TRUE, slots.data(), &n); rv != CKR_OK)
    return ck_error(rv, "C_GetSlotList", where);
  slots.resize(n);
  std::vector<SlotToken> out;
  for (CK_SLOT_ID s : slots) {
    SlotToken t{s, {}};
    if (f->C_GetTokenInfo(s, &t.info) == CKR_OK) out.push_back(t);
  }
  return out;
}

}  // namespace

Result<TokenInitResult> init_pkcs11_token(const TokenInitRequest& req) {
  if (req.label.empty() || req.label.size() > 32)
    return Error{Errc::usage,
                 "a token label is 1 to 32 bytes, got " + std::to_string(req.label.size())};
  if (req.so_pin.empty() || req.pin.empty())
    return Error{Errc::usage, "an empty PIN cannot protect a CA key"};
  const std::string where = "module '" + req.module + "'";
  auto module = p11::load_module(req.module, where);
  if (!module) return module.error();
  CK_FUNCTION_LIST_PTR f = (*module)->fl;

  TokenInitResult result;
  CK_INFO info{};
  if (f->C_GetInfo(&info) == CKR_OK) {
    result.manufacturer = trimmed(info.manufacturerID, sizeof info.manufacturerID);
    result.softhsm = result.manufacturer.find("SoftHSM") != std::string::npos;
  }

  auto before = tokens_of(f, where);
  if (!before) return before.error();
  std::optional<CK_SLOT_ID> free_slot;
  for (const auto& t : *before) {
    bool initialised = t.info.flags & CKF_TOKEN_INITIALIZED;
    if (initialised && trimmed(t.info.label, sizeof t.info.label) == req.label)
      return Error{Errc::exists, where + ": a token labelled '" + req.label +
                                     "' exists already (slot " + std::to_string(t.slot) +
                                     "); nothing was changed"};
    if (!initialised && !free_slot) free_slot = t.slot;
  }
  if (!free_slot)
    return Error{Errc::token_missing,
                 where +
                     ": no free (uninitialised) token slot; a hardware HSM is initialised "
                     "with its vendor's tools"};

  CK_UTF8CHAR padded[32];
  std::memset(padded, ' ', sizeof padded);
  std::memcpy(padded, req.label.data(), req.label.size());
  if (CK_RV rv = f->C_InitToken(*free_slot, utf8(req.so_pin), req.so_pin.size(), padded);
      rv != CKR_OK)
    return ck_error(rv, "C_InitToken", where);

  // SoftHSMv2 moves an initialised token to a new slot: find it again by its label.
  auto after = tokens_of(f, where);
  if (!after) return after.error();
  std::optional<SlotToken> token;
  for (const auto& t : *after)
    if ((t.info.flags & CKF_TOKEN_INITIALIZED) &&
        trimmed(t.info.label, sizeof t.info.label) == req.label)
      token = t;
  if (!token)
    return Error{Errc::key_backend,
                 where + ": the token '" + req.label + "' is not listed after C_InitToken"};
  result.slot = token->slot;
  result.serial = trimmed(token->info.serialNumber, sizeof token->info.serialNumber);

  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  if (CK_RV rv = f->C_OpenSession(result.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                                  nullptr, &session);
      rv != CKR_OK)
    return ck_error(rv, "C_OpenSession", where);
  Result<TokenInitResult> out = result;
  if (CK_RV rv = f->C_Login(session, CKU_SO, utf8(req.so_pin), req.so_pin.size()); rv != CKR_OK) {
    out = ck_error(rv, "C_Login (SO)", where);
  } else {
    if (CK_RV init = f->C_InitPIN(session, utf8(req.pin), req.pin.size()); init != CKR_OK)
      out = ck_error(init, "C_InitPIN", where);
    f->C_Logout(session);
  }
  f->C_CloseSession(session);
  return out;
}

#else

Result<TokenInitResult> init_pkcs11_token(const TokenInitRequest&) {
  return Error{Errc::key_backend, "this build has no PKCS#11 support (built without libp11)"};
}

#endif

}  // namespace grafos::hsm
