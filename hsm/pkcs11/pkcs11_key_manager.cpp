#include "hsm/pkcs11/pkcs11_key_manager.hpp"

#include <dlfcn.h>
#include <libp11.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>

#include <chrono>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "hsm/uri.hpp"

namespace grafos::hsm {

std::string ckr_name(unsigned long rv) {
  switch (rv) {
#define GRAFOS_CKR(x) \
  case x:             \
    return #x;
    GRAFOS_CKR(CKR_OK)
    GRAFOS_CKR(CKR_CANCEL)
    GRAFOS_CKR(CKR_HOST_MEMORY)
    GRAFOS_CKR(CKR_SLOT_ID_INVALID)
    GRAFOS_CKR(CKR_GENERAL_ERROR)
    GRAFOS_CKR(CKR_FUNCTION_FAILED)
    GRAFOS_CKR(CKR_ARGUMENTS_BAD)
    GRAFOS_CKR(CKR_ATTRIBUTE_READ_ONLY)
    GRAFOS_CKR(CKR_ATTRIBUTE_SENSITIVE)
    GRAFOS_CKR(CKR_ATTRIBUTE_TYPE_INVALID)
    GRAFOS_CKR(CKR_ATTRIBUTE_VALUE_INVALID)
    GRAFOS_CKR(CKR_DATA_INVALID)
    GRAFOS_CKR(CKR_DATA_LEN_RANGE)
    GRAFOS_CKR(CKR_DEVICE_ERROR)
    GRAFOS_CKR(CKR_DEVICE_MEMORY)
    GRAFOS_CKR(CKR_DEVICE_REMOVED)
    GRAFOS_CKR(CKR_FUNCTION_CANCELED)
    GRAFOS_CKR(CKR_FUNCTION_NOT_SUPPORTED)
    GRAFOS_CKR(CKR_KEY_HANDLE_INVALID)
    GRAFOS_CKR(CKR_KEY_TYPE_INCONSISTENT)
    GRAFOS_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED)
    GRAFOS_CKR(CKR_MECHANISM_INVALID)
    GRAFOS_CKR(CKR_MECHANISM_PARAM_INVALID)
    GRAFOS_CKR(CKR_OBJECT_HANDLE_INVALID)
    GRAFOS_CKR(CKR_OPERATION_ACTIVE)
    GRAFOS_CKR(CKR_OPERATION_NOT_INITIALIZED)
    GRAFOS_CKR(CKR_PIN_INCORRECT)
    GRAFOS_CKR(CKR_PIN_INVALID)
    GRAFOS_CKR(CKR_PIN_LEN_RANGE)
    GRAFOS_CKR(CKR_PIN_EXPIRED)
    GRAFOS_CKR(CKR_PIN_LOCKED)
    GRAFOS_CKR(CKR_SESSION_CLOSED)
    GRAFOS_CKR(CKR_SESSION_COUNT)
    GRAFOS_CKR(CKR_SESSION_HANDLE_INVALID)
    GRAFOS_CKR(CKR_SESSION_READ_ONLY)
    GRAFOS_CKR(CKR_SESSION_EXISTS)
    GRAFOS_CKR(CKR_SESSION_READ_ONLY_EXISTS)
    GRAFOS_CKR(CKR_SIGNATURE_INVALID)
    GRAFOS_CKR(CKR_SIGNATURE_LEN_RANGE)
    GRAFOS_CKR(CKR_TEMPLATE_INCOMPLETE)
    GRAFOS_CKR(CKR_TEMPLATE_INCONSISTENT)
    GRAFOS_CKR(CKR_TOKEN_NOT_PRESENT)
    GRAFOS_CKR(CKR_TOKEN_NOT_RECOGNIZED)
    GRAFOS_CKR(CKR_TOKEN_WRITE_PROTECTED)
    GRAFOS_CKR(CKR_USER_ALREADY_LOGGED_IN)
    GRAFOS_CKR(CKR_USER_NOT_LOGGED_IN)
    GRAFOS_CKR(CKR_USER_PIN_NOT_INITIALIZED)
    GRAFOS_CKR(CKR_USER_TYPE_INVALID)
    GRAFOS_CKR(CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
    GRAFOS_CKR(CKR_USER_TOO_MANY_TYPES)
    GRAFOS_CKR(CKR_DOMAIN_PARAMS_INVALID)
    GRAFOS_CKR(CKR_CURVE_NOT_SUPPORTED)
    GRAFOS_CKR(CKR_BUFFER_TOO_SMALL)
    GRAFOS_CKR(CKR_CRYPTOKI_NOT_INITIALIZED)
    GRAFOS_CKR(CKR_CRYPTOKI_ALREADY_INITIALIZED)
    GRAFOS_CKR(CKR_FUNCTION_REJECTED)
#undef GRAFOS_CKR
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR_0x%08lx", rv);
  return buf;
}

namespace {

/// What to do next after a return code, for the user reading the error.
std::string advice(CK_RV rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT:
      return "check the PIN source (pin-source=file:, GRAFOS_PKCS11_PIN); the PIN was not retried";
    case CKR_PIN_LOCKED:
      return "the user PIN is locked: unlock it with the SO PIN (pkcs11-tool --init-pin "
             "--login --login-type so) or wait for the TPM lockout to expire";
    case CKR_PIN_EXPIRED:
      return "change the user PIN first (pkcs11-tool --change-pin)";
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_REMOVED:
      return "insert or reconnect the token";
    case CKR_USER_PIN_NOT_INITIALIZED:
      return "initialise the user PIN (pkcs11-tool --init-pin)";
    case CKR_TOKEN_WRITE_PROTECTED:
    case CKR_SESSION_READ_ONLY:
      return "the token is read-only";
    case CKR_DEVICE_MEMORY:
      return "the token is full: remove unused objects";
    default:
      return "check the token and the module's own log";
  }
}

Error ck_error(CK_RV rv, std::string_view what, std::string_view where) {
  Errc code = Errc::key_backend;
  if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED ||
      rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE)
    code = Errc::pin;
  return Error{code, std::string(where) + ": " + std::string(what) + " failed: " + ckr_name(rv) +
                         " (" + advice(rv) + ")"};
}

/// A module loaded once per process: libp11's context plus the raw function list.
struct Module {
  std::string path;
  PKCS11_CTX* ctx = nullptr;
  void* dl = nullptr;
  CK_FUNCTION_LIST_PTR fl = nullptr;
  std::mutex mu;  // serialises slot enumeration in libp11

  ~Module() {
    if (ctx) {
      PKCS11_CTX_unload(ctx);
      PKCS11_CTX_free(ctx);
    }
    if (dl) dlclose(dl);
  }
};

std::mutex g_modules_mu;
std::map<std::string, std::weak_ptr<Module>> g_modules;

Result<std::shared_ptr<Module>> load_module(const std::string& path, std::string_view where) {
  std::lock_guard lock(g_modules_mu);
  if (auto it = g_modules.find(path); it != g_modules.end())
    if (auto m = it->second.lock()) return m;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return Error{Errc::key_backend,
                 std::string(where) + ": PKCS#11 module '" + path +
                     "' does not exist or is not a file (install it, e.g. softhsm2 or "
                     "libtpm2-pkcs11-1, or fix module-path=)"};
  auto m = std::make_shared<Module>();
  m->path = path;
  m->ctx = PKCS11_CTX_new();
  if (!m->ctx) return ossl_error(Errc::key_backend, "creating a libp11 context");
  if (PKCS11_CTX_load(m->ctx, path.c_str()) != 0) {
    PKCS11_CTX_free(m->ctx);
    m->ctx = nullptr;
    return ossl_error(Errc::key_backend, std::string(where) + ": loading PKCS#11 module '" + path +
                                             "' (C_Initialize) failed");
  }
  // The same file, already loaded and initialised by libp11: RTLD_NOLOAD proves it.
  m->dl = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  auto get_list =
      m->dl ? reinterpret_cast<CK_C_GetFunctionList>(dlsym(m->dl, "C_GetFunctionList")) : nullptr;
  if (!get_list || get_list(&m->fl) != CKR_OK || !m->fl)
    return Error{Errc::key_backend,
                 std::string(where) + ": module '" + path + "' has no usable C_GetFunctionList"};
  g_modules[path] = m;
  return m;
}

/// One token opened by one manager: its libp11 slot list, a read-write session, login state.
struct TokenState {
  std::shared_ptr<Module> module;
  PKCS11_SLOT* slots = nullptr;
  unsigned int nslots = 0;
  PKCS11_SLOT* slot = nullptr;
  CK_SLOT_ID slot_id = 0;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  std::string label;
  bool logged_in = false;
  std::optional<Error> login_error;  // a rejected PIN is remembered, never retried
  // Whether libp11 has listed this slot list's private keys before: from then on its list may
  // hold keys destroyed since (see open_signer).
  bool keys_listed = false;
  // When libp11 read the token's flags (C_GetTokenInfo while listing the slots): a login right
  // after opening decides on that reading instead of asking again (see login()).
  std::chrono::steady_clock::time_point flags_read{};

  // Earlier slot lists, kept alive for the signers whose keys live in them.
  std::vector<std::pair<PKCS11_SLOT*, unsigned int>> retired;

  ~TokenState() {
    if (session != CK_INVALID_HANDLE) module->fl->C_CloseSession(session);
    if (slots) PKCS11_release_all_slots(module->ctx, slots, nslots);
    for (auto& [s, n] : retired) PKCS11_release_all_slots(module->ctx, s, n);
  }

  /// libp11 caches a token's keys by object handle, and modules reuse the handles of destroyed
  /// objects: after destroying keys, a fresh slot list gives a fresh cache.
  Result<void> refresh_slots(const std::string& where) {
    PKCS11_SLOT* fresh = nullptr;
    unsigned int n = 0;
    {
      std::lock_guard lock(module->mu);
      if (PKCS11_enumerate_slots(module->ctx, &fresh, &n) != 0)
        return ossl_error(Errc::key_backend, where + ": listing slots (C_GetSlotList)");
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
};

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

bool same_token(const Pkcs11Uri& a, const Pkcs11Uri& b) {
  return a.module_path == b.module_path && a.token == b.token && a.serial == b.serial &&
         a.slot_id == b.slot_id && a.manufacturer == b.manufacturer && a.model == b.model;
}

/// DER of the P-256 curve OID, for CKA_EC_PARAMS (encoded by OpenSSL, not by hand).
Bytes p256_params() {
  ASN1_OBJECT* obj = OBJ_nid2obj(NID_X9_62_prime256v1);
  int len = i2d_ASN1_OBJECT(obj, nullptr);
  Bytes out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  i2d_ASN1_OBJECT(obj, &p);
  return out;
}

class Pkcs11KeyManager final : public KeyManager {
 public:
  Pkcs11KeyManager(Pkcs11Uri base, std::string redacted, const Interaction& in,
                   std::shared_ptr<TokenState> st)
      : base_(std::move(base)), where_(std::move(redacted)), in_(in), st_(std::move(st)) {}

  Result<std::unique_ptr<Signer>> create_key(const CreateKeyRequest& req) override {
    created_.clear();
    std::string where = redact_key_ref(req.ref);
    auto u = parse_for_this_token(req.ref, where);
    if (!u) return std::move(u).error();
    std::string label = !req.label.empty() ? req.label : u->object.value_or("");
    if (label.empty() && !u->id)
      return Error{Errc::usage, where + ": name the new key with object= (or id=) in the URI"};
    if (auto r = login(); !r) return std::move(r).error();
    auto* fl = st_->module->fl;
    CK_SESSION_HANDLE s = st_->session;

    // Refuse to shadow an existing object of that label or id, unless told to replace it.
    std::vector<CK_OBJECT_HANDLE> existing;
    if (!label.empty()) {
      auto found = find_objects(CKA_LABEL, label.data(), label.size(), where);
      if (!found) return std::move(found).error();
      existing = std::move(*found);
    }
    if (u->id) {
      auto found = find_objects(CKA_ID, u->id->data(), u->id->size(), where);
      if (!found) return std::move(found).error();
      for (auto h : *found)
        if (std::find(existing.begin(), existing.end(), h) == existing.end()) existing.push_back(h);
    }
    if (!existing.empty() && !req.replace)
      return Error{Errc::exists, where + ": token '" + st_->label + "' already holds " +
                                     std::to_string(existing.size()) +
                                     " object(s) with this label/id; refusing to create a second "
                                     "key of that name (replace it explicitly to destroy it)"};
    for (auto h : existing)
      if (CK_RV rv = fl->C_DestroyObject(s, h); rv != CKR_OK)
        return ck_error(rv, "C_DestroyObject of the key being replaced", where);
    if (!existing.empty())
      if (auto r = st_->refresh_slots(where); !r) return std::move(r).error();

    Bytes id;
    if (u->id) {
      id = *u->id;
    } else {
      id.resize(16);
      if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1)
        return ossl_error(Errc::crypto, "generating a CKA_ID");
    }
    Bytes params = p256_params();
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY, priv_class = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = CKK_EC;
    auto* lbl = label.empty() ? nullptr : label.data();
    CK_ULONG lbl_len = label.size();
    std::vector<CK_ATTRIBUTE> pub = {
        {CKA_CLASS, &pub_class, sizeof pub_class},
        {CKA_KEY_TYPE, &kt, sizeof kt},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &no, sizeof no},
        {CKA_EC_PARAMS, params.data(), params.size()},
        {CKA_ID, id.data(), id.size()},
    };
    std::vector<CK_ATTRIBUTE> priv = {
        {CKA_CLASS, &priv_class, sizeof priv_class},
        {CKA_KEY_TYPE, &kt, sizeof kt},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_DECRYPT, &no, sizeof no},
        {CKA_UNWRAP, &no, sizeof no},
        {CKA_DERIVE, &no, sizeof no},
        {CKA_ID, id.data(), id.size()},
    };
    if (lbl) {
      pub.push_back({CKA_LABEL, lbl, lbl_len});
      priv.push_back({CKA_LABEL, lbl, lbl_len});
    }
    CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
    if (CK_RV rv = fl->C_GenerateKeyPair(s, &mech, pub.data(), pub.size(), priv.data(), priv.size(),
                                         &hpub, &hpriv);
        rv != CKR_OK)
      return ck_error(rv, "C_GenerateKeyPair (EC P-256) on token '" + st_->label + "'", where);
    created_ = {hpub, hpriv};

    Pkcs11Uri named = std::move(*u);
    if (!label.empty()) named.object = label;
    named.id = id;
    return open_signer(named, where);
  }

  Result<void> discard_created_key() override {
    if (created_.empty()) return ok();
    auto* fl = st_->module->fl;
    Result<void> r = ok();
    for (CK_OBJECT_HANDLE h : std::exchange(created_, {}))
      if (CK_RV rv = fl->C_DestroyObject(st_->session, h); rv != CKR_OK && r)
        r = ck_error(rv, "C_DestroyObject of the key made by this run", where_);
    if (auto refreshed = st_->refresh_slots(where_); !refreshed && r) r = std::move(refreshed);
    return r;
  }

  Result<EvpPkeyPtr> get_public_key(std::string_view ref) override {
    auto signer = create_signer(ref);
    if (!signer) return std::move(signer).error();
    EvpPkeyPtr pub(EVP_PKEY_dup((*signer)->public_key()));
    if (!pub) return ossl_error(Errc::crypto, "copying the public key of " + redact_key_ref(ref));
    return pub;
  }

  Result<std::unique_ptr<Signer>> create_signer(std::string_view ref) override {
    std::string where = redact_key_ref(ref);
    auto u = parse_for_this_token(ref, where);
    if (!u) return std::move(u).error();
    return signer_for(*u, where);
  }

  /// The signer for the key the URI this manager was opened with names (no second parse).
  Result<std::unique_ptr<Signer>> signer_for_uri() { return signer_for(base_, where_); }

 private:
  Result<std::unique_ptr<Signer>> signer_for(const Pkcs11Uri& u, const std::string& where) {
    if (!u.object && !u.id)
      return Error{Errc::usage, where + ": name the key with object= and/or id= in the URI"};
    if (auto r = login(); !r) return std::move(r).error();
    return open_signer(u, where);
  }

  Result<Pkcs11Uri> parse_for_this_token(std::string_view ref, const std::string& where) {
    auto u = parse_pkcs11_uri(ref);
    if (!u) return std::move(u).error().context(where);
    if (u->module_path.empty()) u->module_path = base_.module_path;
    if (!same_token(*u, base_))
      return Error{Errc::usage, where + ": names another module or token than this key manager (" +
                                    where_ + "); open a key manager for it"};
    return u;
  }

  Result<std::vector<CK_OBJECT_HANDLE>> find_objects(CK_ATTRIBUTE_TYPE type, void* value,
                                                     size_t len, const std::string& where) {
    auto* fl = st_->module->fl;
    CK_ATTRIBUTE tmpl = {type, value, static_cast<CK_ULONG>(len)};
    if (CK_RV rv = fl->C_FindObjectsInit(st_->session, &tmpl, 1); rv != CKR_OK)
      return ck_error(rv, "C_FindObjectsInit", where);
    std::vector<CK_OBJECT_HANDLE> out;
    CK_OBJECT_HANDLE buf[32];
    CK_ULONG n = 0;
    CK_RV rv;
    while ((rv = fl->C_FindObjects(st_->session, buf, 32, &n)) == CKR_OK && n > 0)
      out.insert(out.end(), buf, buf + n);
    fl->C_FindObjectsFinal(st_->session);
    if (rv != CKR_OK) return ck_error(rv, "C_FindObjects", where);
    return out;
  }

  bool private_key_exists(const PKCS11_KEY* k) {
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    std::vector<CK_ATTRIBUTE> tmpl = {{CKA_CLASS, &cls, sizeof cls}};
    if (k->id_len > 0) tmpl.push_back({CKA_ID, k->id, k->id_len});
    std::string label = k->label ? k->label : "";
    if (!label.empty()) tmpl.push_back({CKA_LABEL, label.data(), label.size()});
    auto* fl = st_->module->fl;
    if (fl->C_FindObjectsInit(st_->session, tmpl.data(), tmpl.size()) != CKR_OK) return true;
    CK_OBJECT_HANDLE h;
    CK_ULONG n = 0;
    fl->C_FindObjects(st_->session, &h, 1, &n);
    fl->C_FindObjectsFinal(st_->session);
    return n > 0;
  }

  /// The PIN and where it came from ("the PIN file '/run/ca.pin' (pin-source=file:)"), for
  /// messages that must name the source and never the PIN.
  struct Pin {
    SecretString value;
    std::string source;
  };

  Result<Pin> obtain_pin() {
    if (base_.pin_file) {
      auto pin = read_secret_file(*base_.pin_file);
      if (!pin) return std::move(pin).error().context(where_ + ": pin-source");
      return Pin{std::move(*pin), "the PIN file '" + *base_.pin_file + "' (pin-source=file:)"};
    }
    if (base_.pin_value) {
      if (in_.warn)
        in_.warn(where_ +
                 ": the PIN is given by pin-value= in the URI, where other users can read it "
                 "(command lines are public); prefer pin-source=file: or " +
                 in_.pin_env);
      return Pin{base_.pin_value->duplicate(), "pin-value= in the URI"};
    }
    if (auto env = read_secret_env(in_.pin_env.c_str()))
      return Pin{std::move(*env), "the environment variable " + in_.pin_env};
    if (in_.prompt_secret) {
      auto typed = in_.prompt_secret("PIN for token '" + st_->label + "': ");
      if (!typed) return std::move(typed).error().context(where_);
      return Pin{std::move(*typed), "the terminal prompt"};
    }
    return Error{Errc::pin, where_ + ": token '" + st_->label +
                                "' needs a user PIN and none was given (use pin-source=file: in "
                                "the URI, set " +
                                in_.pin_env + ", or run on a terminal)"};
  }

  /// Logs in at most once per manager; refuses a token on its final try or locked.
  Result<void> login() {
    if (st_->logged_in) return ok();
    if (st_->login_error) return *st_->login_error;
    auto* fl = st_->module->fl;
    // The PIN flags must be current when deciding to log in. The slot listing of
    // make_pkcs11_key_manager read them a moment ago (a command logs in right after opening);
    // a reading older than a second is not trusted: ask the token.
    CK_TOKEN_INFO ti{};
    const PKCS11_TOKEN* tok = st_->slot->token;
    if (std::chrono::steady_clock::now() - st_->flags_read < std::chrono::seconds(1)) {
      ti.flags = (tok->loginRequired ? CKF_LOGIN_REQUIRED : 0) |
                 (tok->userPinLocked ? CKF_USER_PIN_LOCKED : 0) |
                 (tok->userPinFinalTry ? CKF_USER_PIN_FINAL_TRY : 0);
    } else if (CK_RV rv = fl->C_GetTokenInfo(st_->slot_id, &ti); rv != CKR_OK) {
      return ck_error(rv, "C_GetTokenInfo", where_);
    }
    if (!(ti.flags & CKF_LOGIN_REQUIRED)) {
      st_->logged_in = true;
      return ok();
    }
    CK_SESSION_INFO si{};
    if (fl->C_GetSessionInfo(st_->session, &si) == CKR_OK &&
        (si.state == CKS_RW_USER_FUNCTIONS || si.state == CKS_RO_USER_FUNCTIONS)) {
      st_->logged_in = true;  // another manager of this process logged in to this token
      return ok();
    }
    if (ti.flags & CKF_USER_PIN_LOCKED)
      return *(st_->login_error =
                   Error{Errc::pin, where_ + ": token '" + st_->label +
                                        "' reports CKF_USER_PIN_LOCKED; not logging in (unlock the "
                                        "user PIN with the SO PIN: pkcs11-tool --init-pin --login "
                                        "--login-type so)"});
    if (ti.flags & CKF_USER_PIN_FINAL_TRY)
      return *(st_->login_error = Error{
                   Errc::pin, where_ + ": token '" + st_->label +
                                  "' reports CKF_USER_PIN_FINAL_TRY; not risking a lockout by "
                                  "logging in (check the PIN, then log in once with pkcs11-tool "
                                  "to reset the counter)"});
    auto pin = obtain_pin();
    if (!pin) return std::move(pin).error();
    // An empty PIN (an empty file, an empty variable, Ctrl-D at the prompt) is a mistake, not a
    // PIN: logging in with it would use up one of the token's PIN tries.
    if (pin->value.empty())
      return Error{Errc::pin, where_ + ": the PIN from " + pin->source +
                                  " is empty; not logging in to token '" + st_->label +
                                  "' (an empty PIN would use up a PIN try)"};
    CK_RV rv = fl->C_Login(st_->session, CKU_USER,
                           reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin->value.c_str())),
                           pin->value.size());
    pin->value.wipe();
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
      st_->login_error = ck_error(rv, "C_Login to token '" + st_->label + "'", where_);
      return *st_->login_error;
    }
    st_->logged_in = true;
    return ok();
  }

  Result<std::unique_ptr<Signer>> open_signer(const Pkcs11Uri& u, const std::string& where) {
    PKCS11_KEY* keys = nullptr;
    unsigned int n = 0;
    // libp11 keeps the keys it listed once and adds new ones on each listing, so keys destroyed
    // since the first listing of this slot list (e.g. replaced by create_key) stay in its list:
    // from the second listing on, the token is asked whether a matching key still exists.
    // The first listing is the token's own answer, just given (three PKCS#11 calls saved).
    const bool first_listing = !st_->keys_listed;
    {
      std::lock_guard lock(st_->module->mu);
      if (PKCS11_enumerate_keys(st_->slot->token, &keys, &n) != 0)
        return ossl_error(Errc::key_backend, where + ": listing private keys");
      st_->keys_listed = true;
    }
    PKCS11_KEY* match = nullptr;
    int matches = 0;
    for (unsigned i = 0; i < n; ++i) {
      PKCS11_KEY* k = &keys[i];
      if (u.object && (!k->label || *u.object != k->label)) continue;
      if (u.id && (k->id_len != u.id->size() || !std::equal(u.id->begin(), u.id->end(), k->id)))
        continue;
      if (!first_listing && !private_key_exists(k)) continue;
      match = k;
      ++matches;
    }
    if (matches == 0)
      return Error{Errc::token_missing,
                   where + ": no private key with this object=/id= on token '" + st_->label +
                       "' (list them: pkcs11-tool --list-objects --login)"};
    if (matches > 1)
      return Error{Errc::invalid_input, where + ": " + std::to_string(matches) +
                                            " private keys match; add id= to choose one"};
    EvpPkeyPtr key(PKCS11_get_private_key(match));
    if (!key) return ossl_error(Errc::key_backend, where + ": opening the private key");
    auto signer = std::make_unique<EvpSigner>(std::move(key), where, st_);
    if (!signer->public_key())
      return ossl_error(Errc::key_backend,
                        where + ": the token gives no public point for this key (CKA_EC_POINT)");
    return std::unique_ptr<Signer>(std::move(signer));
  }

  Pkcs11Uri base_;
  std::string where_;
  Interaction in_;
  std::shared_ptr<TokenState> st_;
  std::vector<CK_OBJECT_HANDLE> created_;  // the key pair the last create_key generated
};

// Opens the module and the token a parsed URI names.
Result<std::unique_ptr<Pkcs11KeyManager>> open_manager(Result<Pkcs11Uri> u, std::string where,
                                                       const Interaction& interaction) {
  if (!u) return std::move(u).error().context(where);
  if (u->module_path.empty())
    return Error{Errc::usage, where +
                                  ": the URI names no module; add ?module-path=/path/to/"
                                  "module.so (e.g. /usr/lib/softhsm/libsofthsm2.so)"};
  auto module = load_module(u->module_path, where);
  if (!module) return std::move(module).error();
  auto st = std::make_shared<TokenState>();
  st->module = *module;
  {
    std::lock_guard lock((*module)->mu);
    if (PKCS11_enumerate_slots((*module)->ctx, &st->slots, &st->nslots) != 0)
      return ossl_error(Errc::key_backend, where + ": listing slots (C_GetSlotList)");
    st->flags_read = std::chrono::steady_clock::now();
  }
  std::string present;
  int matches = 0;
  for (unsigned i = 0; i < st->nslots; ++i) {
    PKCS11_SLOT* s = &st->slots[i];
    if (s->token && s->token->initialized) {
      if (!present.empty()) present += ", ";
      present += "'" + std::string(s->token->label) + "'";
    }
    if (token_matches(*u, s)) {
      st->slot = s;
      ++matches;
    }
  }
  if (matches == 0)
    return Error{Errc::token_missing,
                 where + ": no initialised token matches " + token_selector(*u) + " in module '" +
                     u->module_path + "' (tokens present: " + (present.empty() ? "none" : present) +
                     "; check token= or initialise one, e.g. softhsm2-util --init-token)"};
  if (matches > 1)
    return Error{Errc::invalid_input, where + ": " + std::to_string(matches) + " tokens match " +
                                          token_selector(*u) +
                                          "; add token=, serial= or slot-id= to choose one"};
  st->slot_id = PKCS11_get_slotid_from_slot(st->slot);
  st->label = st->slot->token->label;
  CK_RV rv = (*module)->fl->C_OpenSession(st->slot_id, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                                          nullptr, &st->session);
  if (rv != CKR_OK) {
    st->session = CK_INVALID_HANDLE;
    return ck_error(rv, "C_OpenSession on token '" + st->label + "'", where);
  }
  return std::make_unique<Pkcs11KeyManager>(std::move(*u), where, interaction, std::move(st));
}

}  // namespace

Result<std::unique_ptr<KeyManager>> make_pkcs11_key_manager(std::string_view uri,
                                                            const Interaction& interaction) {
  auto m = open_manager(parse_pkcs11_uri(uri), redact_key_ref(uri), interaction);
  if (!m) return std::move(m).error();
  return std::unique_ptr<KeyManager>(std::move(*m));
}

Result<std::unique_ptr<Signer>> open_pkcs11_signer(std::string_view uri,
                                                   const Interaction& interaction) {
  auto m = open_manager(parse_pkcs11_uri(uri), redact_key_ref(uri), interaction);
  if (!m) return std::move(m).error();
  return (*m)->signer_for_uri();
}

}  // namespace grafos::hsm
