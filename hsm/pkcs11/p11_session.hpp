// Slot and token lookup, and the one read-write session a token is used through. A token is
// chosen by the URI's token=, serial=, slot-id=, manufacturer= and model= (RFC 7512); exactly one
// initialised token must match.
#pragma once

#include <libp11.h>
#include <p11-kit/pkcs11.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hsm/pkcs11/p11_module.hpp"
#include "hsm/uri.hpp"
#include "util/result.hpp"

namespace grafos::hsm::p11 {

/// One token opened by one manager: its libp11 slot list, a read-write session, login state.
/// Signers hold it (shared) for as long as their keys are used.
struct Token {
  std::shared_ptr<Module> module;
  PKCS11_SLOT* slots = nullptr;
  unsigned int nslots = 0;
  PKCS11_SLOT* slot = nullptr;
  CK_SLOT_ID slot_id = 0;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  std::string label;
  bool logged_in = false;
  std::optional<Error> login_error;  ///< a rejected PIN is remembered, never retried
  /// Whether libp11 has listed this slot list's private keys before: from then on its list may
  /// hold keys destroyed since (see p11_object.cpp).
  bool keys_listed = false;
  /// Earlier slot lists, kept alive for the signers whose keys live in them.
  std::vector<std::pair<PKCS11_SLOT*, unsigned int>> retired;

  Token() = default;
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;
  ~Token();

  /// libp11 caches a token's keys by object handle, and modules reuse the handles of destroyed
  /// objects: after destroying keys, a fresh slot list gives a fresh cache.
  Result<void> refresh_slots(const std::string& where);
};

/// Loads the module `u` names, finds the one token it selects and opens a read-write session.
/// Errc::token_missing when no initialised token matches (the message lists those present).
Result<std::shared_ptr<Token>> open_token(const Pkcs11Uri& u, const std::string& where);

/// Whether `a` and `b` name the same module and token.
bool same_token(const Pkcs11Uri& a, const Pkcs11Uri& b);

}  // namespace grafos::hsm::p11
