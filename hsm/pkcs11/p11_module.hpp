// A PKCS#11 module and its lifetime. libp11 loads the module (PKCS11_CTX_load: dlopen +
// C_Initialize) and unloads it (C_Finalize + dlclose). Operations libp11 0.4.12 lacks
// (C_GetTokenInfo, C_Login with its return code, key generation, object destruction) use the
// module's own CK_FUNCTION_LIST, taken from the very same, already initialised library
// (dlopen RTLD_NOLOAD); C_Initialize and C_Finalize are never called by us.
//
// A module is loaded once per process and shared by every token and manager that uses it:
// libp11's C_Finalize on unload would end every other session of the process.
#pragma once

#include <libp11.h>
#include <p11-kit/pkcs11.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace grafos::hsm::p11 {

/// One loaded module: libp11's context plus the raw function list.
struct Module {
  std::string path;
  PKCS11_CTX* ctx = nullptr;
  void* dl = nullptr;
  CK_FUNCTION_LIST_PTR fl = nullptr;
  std::string manufacturer;  ///< C_GetInfo manufacturerID, blank padding removed
  std::string description;   ///< C_GetInfo libraryDescription, blank padding removed
  std::mutex mu;             ///< serialises slot and key enumeration in libp11

  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  ~Module();
};

/// The module at `path`, loaded now or shared with an earlier caller of this process.
/// `where` (a redacted key reference) prefixes errors.
Result<std::shared_ptr<Module>> load_module(const std::string& path, std::string_view where);

}  // namespace grafos::hsm::p11
