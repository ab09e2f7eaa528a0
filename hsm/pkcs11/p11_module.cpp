#include "hsm/pkcs11/p11_module.hpp"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdlib>
#include <map>

#include "util/ossl.hpp"

namespace grafos::hsm::p11 {

Module::~Module() {
  if (ctx) {
    PKCS11_CTX_unload(ctx);
    PKCS11_CTX_free(ctx);
  }
  if (dl) dlclose(dl);
}

namespace {
std::mutex g_modules_mu;
std::map<std::string, std::weak_ptr<Module>> g_modules;
}  // namespace

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
    // SoftHSM cannot start without its configuration file; libp11 then reports DSO and engine
    // errors that point away from the cause. Name the cause instead.
    const char* conf = std::getenv("SOFTHSM2_CONF");
    if (conf && path.find("softhsm") != std::string::npos) {
      drain_ossl_errors();
      struct stat cst;
      std::string why =
          *conf == '\0' ? std::string("SOFTHSM2_CONF is set but empty")
          : ::stat(conf, &cst) != 0
              ? "SOFTHSM2_CONF names '" + std::string(conf) + "', which does not exist"
              : "SoftHSM refused its configuration '" + std::string(conf) +
                    "' (check directories.tokendir in it)";
      return Error{Errc::key_backend,
                   std::string(where) + ": SoftHSM could not start (C_Initialize failed): " + why +
                       "; point SOFTHSM2_CONF at a softhsm2.conf, or unset it to use "
                       "/etc/softhsm/softhsm2.conf"};
    }
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
  CK_INFO info{};
  if (m->fl->C_GetInfo && m->fl->C_GetInfo(&info) == CKR_OK) {
    auto trimmed = [](const unsigned char* p, size_t n) {
      std::string t(reinterpret_cast<const char*>(p), n);
      t.erase(t.find_last_not_of(" \0") + 1);
      return t;
    };
    m->manufacturer = trimmed(info.manufacturerID, sizeof info.manufacturerID);
    m->description = trimmed(info.libraryDescription, sizeof info.libraryDescription);
  }
  g_modules[path] = m;
  return m;
}

}  // namespace grafos::hsm::p11
