#include "hsm/pkcs11/p11_session.hpp"

#include "hsm/pkcs11/p11_error.hpp"
#include "util/ossl.hpp"

namespace grafos::hsm::p11 {

Token::~Token() {
  if (session != CK_INVALID_HANDLE) module->fl->C_CloseSession(session);
  if (slots) PKCS11_release_all_slots(module->ctx, slots, nslots);
  for (auto& [s, n] : retired) PKCS11_release_all_slots(module->ctx, s, n);
}

Result<void> Token::refresh_slots(const std::string& where) {
  PKCS11_SLOT* fresh = nullptr;
  unsigned int n = 0;
  {
    std::lock_guard lock(module->mu);
    if (PKCS11_enumerate_slots(module->ctx, &fresh, &n) != 0)
      return p11_call_error(Errc::key_backend, "listing slots (C_GetSlotList)", where);
  }
  PKCS11_SLOT* found = nullptr;
  for (unsigned i = 0; i < n; ++i)
    if (PKCS11_get_slotid_from_slot(&fresh[i]) == slot_id && fresh[i].token) found = &fresh[i];
  if (!found) {
    PKCS11_release_all_slots(module->ctx, fresh, n);
    return Error{Errc::key_backend, where + ": token '" + label + "' disappeared"};
  }
  retired.emplace_back(slots, nslots);
  slots = fresh;
  nslots = n;
  slot = found;
  keys_listed = false;
  return ok();
}

namespace {

bool token_matches(const Pkcs11Uri& u, PKCS11_SLOT* s) {
  if (!s->token || !s->token->initialized) return false;
  if (u.token && *u.token != s->token->label) return false;
  if (u.serial && *u.serial != s->token->serialnr) return false;
  if (u.manufacturer && *u.manufacturer != s->token->manufacturer) return false;
  if (u.model && *u.model != s->token->model) return false;
  if (u.slot_id && *u.slot_id != PKCS11_get_slotid_from_slot(s)) return false;
  return true;
}

std::string token_selector(const Pkcs11Uri& u) {
  std::string s;
  auto add = [&](std::string_view k, const std::string& v) {
    if (!s.empty()) s += ';';
    s += std::string(k) + "=" + v;
  };
  if (u.token) add("token", *u.token);
  if (u.serial) add("serial", *u.serial);
  if (u.slot_id) add("slot-id", std::to_string(*u.slot_id));
  if (u.manufacturer) add("manufacturer", *u.manufacturer);
  if (u.model) add("model", *u.model);
  return s.empty() ? "(any token)" : s;
}

}  // namespace

bool same_token(const Pkcs11Uri& a, const Pkcs11Uri& b) {
  return a.module_path == b.module_path && a.token == b.token && a.serial == b.serial &&
         a.slot_id == b.slot_id && a.manufacturer == b.manufacturer && a.model == b.model;
}

Result<std::shared_ptr<Token>> open_token(const Pkcs11Uri& u, const std::string& where) {
  if (u.module_path.empty())
    return Error{Errc::usage, where +
                                  ": the URI names no module; add ?module-path=/path/to/"
                                  "module.so (e.g. /usr/lib/softhsm/libsofthsm2.so)"};
  auto module = load_module(u.module_path, where);
  if (!module) return std::move(module).error();
  auto st = std::make_shared<Token>();
  st->module = *module;
  {
    std::lock_guard lock((*module)->mu);
    if (PKCS11_enumerate_slots((*module)->ctx, &st->slots, &st->nslots) != 0)
      return p11_call_error(Errc::key_backend, "listing slots (C_GetSlotList)", where);
  }
  std::string present;
  int matches = 0;
  for (unsigned i = 0; i < st->nslots; ++i) {
    PKCS11_SLOT* s = &st->slots[i];
    if (s->token && s->token->initialized) {
      if (!present.empty()) present += ", ";
      present += "'" + std::string(s->token->label) + "'";
    }
    if (token_matches(u, s)) {
      st->slot = s;
      ++matches;
    }
  }
  if (matches == 0)
    return Error{Errc::token_missing,
                 where + ": no initialised token matches " + token_selector(u) + " in module '" +
                     u.module_path + "' (tokens present: " + (present.empty() ? "none" : present) +
                     "; check token= or initialise one, e.g. softhsm2-util --init-token)"};
  if (matches > 1)
    return Error{Errc::invalid_input, where + ": " + std::to_string(matches) + " tokens match " +
                                          token_selector(u) +
                                          "; add token=, serial= or slot-id= to choose one"};
  st->slot_id = PKCS11_get_slotid_from_slot(st->slot);
  st->label = st->slot->token->label;
  CK_RV rv = (*module)->fl->C_OpenSession(st->slot_id, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                                          nullptr, &st->session);
  if (rv != CKR_OK) {
    st->session = CK_INVALID_HANDLE;
    return ck_error(rv, "C_OpenSession on token '" + st->label + "'", where);
  }
  return st;
}

}  // namespace grafos::hsm::p11
