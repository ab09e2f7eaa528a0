// p11_init_token: initialises a free token of a PKCS#11 module with its SO and user PINs read
// from files. For scripts that cannot answer softhsm2-util's terminal prompts and must not put
// a PIN on a command line (softhsm2-util --so-pin/--pin would show it to every `ps`): the
// README's demo ceremony and the test fixtures. People at a terminal can use softhsm2-util's
// own no-echo prompts.
//
//   p11_init_token MODULE LABEL SO_PIN_FILE USER_PIN_FILE
//
// It takes the first slot whose token is not initialised (softhsm2-util --init-token --free),
// C_InitToken with the SO PIN and LABEL, then, on the token's slot (SoftHSMv2 moves an
// initialised token to a new slot), logs in as SO and sets the user PIN with C_InitPIN.
// A PIN file's first line is the PIN; an empty PIN is refused before any call. Exit status:
// 0 done, 1 a PKCS#11 call failed (named, with its CKR_ code), 2 bad arguments or PIN files.
#include <cstring>

#include "tests/support/fixtures.hpp"
#include "tests/support/p11_tool.hpp"

namespace {

constexpr const char* kTool = "p11_init_token";
constexpr const char* kSynopsis = "MODULE LABEL SO_PIN_FILE USER_PIN_FILE";

}  // namespace

int main(int argc, char** argv) {
  using namespace grafos::test::p11_tool;
  if (argc != 5) return usage(kTool, "expected 4 arguments", kSynopsis);
  const std::string label = argv[2];
  if (label.empty() || label.size() > 32)
    return usage(kTool, "LABEL must be 1 to 32 characters", kSynopsis);
  auto so = grafos::read_secret_file(argv[3]);
  if (!so) return usage(kTool, "SO_PIN_FILE: " + so.error().message, kSynopsis);
  auto user = grafos::read_secret_file(argv[4]);
  if (!user) return usage(kTool, "USER_PIN_FILE: " + user.error().message, kSynopsis);
  if (so->empty() || user->empty()) return usage(kTool, "a PIN file is empty", kSynopsis);

  grafos::test::Pkcs11Probe module(argv[1]);
  CK_FUNCTION_LIST_PTR f = module.functions();
  if (!f)
    return usage(kTool, std::string("cannot load or initialise '") + argv[1] + "'", kSynopsis);
  auto free_slot = module.free_slot();
  if (!free_slot) {
    std::fprintf(stderr, "%s: the module has no free (uninitialised) token\n", kTool);
    return 1;
  }
  CK_UTF8CHAR padded[32];
  std::memset(padded, ' ', sizeof padded);
  std::memcpy(padded, label.data(), label.size());
  if (CK_RV rv = f->C_InitToken(*free_slot, utf8(*so), so->size(), padded); rv != CKR_OK)
    return fail(kTool, "C_InitToken", rv);
  auto slot = module.slot_of(label);
  if (!slot) {
    std::fprintf(stderr, "%s: the initialised token '%s' is not listed\n", kTool, label.c_str());
    return 1;
  }
  CK_SESSION_HANDLE session;
  if (CK_RV rv =
          f->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session);
      rv != CKR_OK)
    return fail(kTool, "C_OpenSession", rv);
  int status = 0;
  if (CK_RV rv = f->C_Login(session, CKU_SO, utf8(*so), so->size()); rv != CKR_OK) {
    status = fail(kTool, "C_Login (SO)", rv);
  } else {
    if (CK_RV init = f->C_InitPIN(session, utf8(*user), user->size()); init != CKR_OK)
      status = fail(kTool, "C_InitPIN", init);
    f->C_Logout(session);
  }
  f->C_CloseSession(session);
  if (status == 0) std::printf("token '%s' initialised in slot %lu\n", label.c_str(), *slot);
  return status;
}
