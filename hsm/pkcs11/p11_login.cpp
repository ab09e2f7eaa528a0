#include "hsm/pkcs11/p11_login.hpp"

#include "hsm/pkcs11/p11_error.hpp"

namespace grafos::hsm::p11 {
namespace {

/// The PIN and where it came from ("the PIN file '/run/ca.pin' (pin-source=file:)"), for
/// messages that must name the source and never the PIN.
struct Pin {
  SecretString value;
  std::string source;
};

Result<Pin> obtain_pin(const Token& token, const Pkcs11Uri& uri, const Interaction& in,
                       const std::string& where) {
  if (uri.pin_file) {
    auto pin = read_secret_file(*uri.pin_file);
    if (!pin) return std::move(pin).error().context(where + ": pin-source");
    return Pin{std::move(*pin), "the PIN file '" + *uri.pin_file + "' (pin-source=file:)"};
  }
  if (uri.pin_value) {
    if (in.warn)
      in.warn(where +
              ": the PIN is given by pin-value= in the URI, where other users can read it "
              "(command lines are public); prefer pin-source=file: or " +
              in.pin_env);
    return Pin{uri.pin_value->duplicate(), "pin-value= in the URI"};
  }
  if (auto env = read_secret_env(in.pin_env.c_str()))
    return Pin{std::move(*env), "the environment variable " + in.pin_env};
  if (in.prompt_secret) {
    auto typed = in.prompt_secret("PIN for token '" + token.label + "': ");
    if (!typed) return std::move(typed).error().context(where);
    return Pin{std::move(*typed), "the terminal prompt"};
  }
  return Error{Errc::pin, where + ": token '" + token.label +
                              "' needs a user PIN and none was given (use pin-source=file: in "
                              "the URI, set " +
                              in.pin_env + ", or run on a terminal)"};
}

}  // namespace

Result<void> login(Token& token, const Pkcs11Uri& uri, const Interaction& in,
                   const std::string& where) {
  if (token.logged_in) return ok();
  if (token.login_error) return *token.login_error;  // never retry a rejected PIN
  auto* fl = token.module->fl;
  // The flags now, from the token itself: never a reading taken earlier.
  CK_TOKEN_INFO ti{};
  if (CK_RV rv = fl->C_GetTokenInfo(token.slot_id, &ti); rv != CKR_OK)
    return ck_error(rv, "C_GetTokenInfo", where);
  if (!(ti.flags & CKF_LOGIN_REQUIRED)) {
    token.logged_in = true;
    return ok();
  }
  CK_SESSION_INFO si{};
  if (fl->C_GetSessionInfo(token.session, &si) == CKR_OK &&
      (si.state == CKS_RW_USER_FUNCTIONS || si.state == CKS_RO_USER_FUNCTIONS)) {
    token.logged_in = true;  // another manager of this process logged in to this token
    return ok();
  }
  // A token that is locked, or on its final try, is refused without logging in.
  static constexpr struct {
    CK_FLAGS flag;
    const char* name;
    const char* what_to_do;
  } kRefused[] = {
      {CKF_USER_PIN_LOCKED, "CKF_USER_PIN_LOCKED",
       "not logging in (unlock the user PIN with the SO PIN: "
       "pkcs11-tool --init-pin --login --login-type so)"},
      {CKF_USER_PIN_FINAL_TRY, "CKF_USER_PIN_FINAL_TRY",
       "not risking a lockout by logging in (check the PIN, then log in once with pkcs11-tool "
       "to reset the counter)"},
  };
  for (const auto& r : kRefused)
    if (ti.flags & r.flag)
      return *(token.login_error =
                   Error{Errc::pin, where + ": token '" + token.label + "' reports " + r.name +
                                        "; " + r.what_to_do});
  auto pin = obtain_pin(token, uri, in, where);
  if (!pin) return std::move(pin).error();
  if (pin->value.empty())
    return Error{Errc::pin, where + ": the PIN from " + pin->source +
                                " is empty; not logging in to token '" + token.label +
                                "' (an empty PIN would use up a PIN try)"};
  CK_RV rv = fl->C_Login(token.session, CKU_USER,
                         reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin->value.c_str())),
                         pin->value.size());
  pin->value.wipe();
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    token.login_error = ck_error(rv, "C_Login to token '" + token.label + "'", where);
    return *token.login_error;
  }
  token.logged_in = true;
  return ok();
}

}  // namespace grafos::hsm::p11
