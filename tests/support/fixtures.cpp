#include "tests/support/fixtures.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <p11-kit/pkcs11.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace grafos::test {

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) std::abort();
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {
pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            int out_fd) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  for (auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
  int devnull = ::open("/dev/null", O_RDONLY);
  ::dup2(devnull, 0);
  ::dup2(out_fd, 1);
  ::dup2(out_fd, 2);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  ::_exit(127);
}
}  // namespace

CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  pid_t pid = spawn(argv, env, fds[1]);
  ::close(fds[1]);
  CommandResult r;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) r.output.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

bool have_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':'))
    if (::access((fs::path(dir) / name).c_str(), X_OK) == 0) return true;
  return false;
}

void write_private_file(const fs::path& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  if (::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    std::abort();
  ::close(fd);
}

// ---- SoftHSMv2 ----------------------------------------------------------------------------

SoftHsmToken::SoftHsmToken(std::string label, std::string pin, std::string so_pin)
    : dir_("grafos-softhsm"),
      label_(std::move(label)),
      pin_(std::move(pin)),
      so_pin_(std::move(so_pin)) {
  fs::create_directory(token_dir());
  std::ofstream(conf_path()) << "directories.tokendir = " << token_dir().string()
                             << "\nobjectstore.backend = file\nlog.level = ERROR\n";
  ::setenv("SOFTHSM2_CONF", conf_path().c_str(), 1);
  add_token(label_, pin_);
}

std::string init_token_from_files(const std::string& module, const std::string& label,
                                  const fs::path& so_pin_file, const fs::path& user_pin_file,
                                  const std::map<std::string, std::string>& env) {
  const char* init = std::getenv("GRAFOS_P11_INIT_TOKEN");
  if (!init) return "GRAFOS_P11_INIT_TOKEN is not set (run under meson test)";
  auto r = run_command({init, module, label, so_pin_file.string(), user_pin_file.string()}, env);
  return r.status == 0 ? std::string() : "p11_init_token: " + r.output;
}

fs::path SoftHsmToken::add_token(const std::string& label, const std::string& pin) {
  fs::path pin_path = dir_.path() / (label + ".pin");
  fs::path so_pin_path = dir_.path() / (label + ".so-pin");
  write_private_file(pin_path, pin + "\n");
  write_private_file(so_pin_path, so_pin_ + "\n");
  if (auto e = init_token_from_files(module_path(), label, so_pin_path, pin_path, env());
      !e.empty()) {
    std::fprintf(stderr, "SoftHsmToken: %s\n", e.c_str());
    std::abort();
  }
  return pin_path;
}

std::string SoftHsmToken::uri(const std::string& object) const {
  return uri_for(label_, pin_file(), object);
}

std::string SoftHsmToken::uri_for(const std::string& label, const fs::path& pin_file,
                                  const std::string& object) const {
  std::string u = "pkcs11:token=" + label;
  if (!object.empty()) u += ";object=" + object;
  return u + "?module-path=" + module_path() + "&pin-source=file:" + pin_file.string();
}

std::map<std::string, std::string> SoftHsmToken::env() const {
  return {{"SOFTHSM2_CONF", conf_path().string()}};
}

bool SoftHsmToken::set_persisted_token_flags(const std::string& label, unsigned long flags) const {
  // token.object is a list of (8-byte type, 8-byte kind, value) records, big-endian; the token
  // flags are the CKA_OS_TOKENFLAGS record (vendor type 0x8000534b, kind 2 = unsigned long).
  for (auto& entry : fs::directory_iterator(token_dir())) {
    fs::path obj = entry.path() / "token.object";
    std::ifstream in(obj, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), {});
    in.close();
    if (data.find(label) == std::string::npos) continue;
    const unsigned char pattern[16] = {0, 0, 0, 0, 0x80, 0, 0x53, 0x4b, 0, 0, 0, 0, 0, 0, 0, 2};
    auto pos = data.find(std::string(reinterpret_cast<const char*>(pattern), 16));
    if (pos == std::string::npos || pos + 24 > data.size()) return false;
    unsigned long v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(data[pos + 16 + i]);
    v |= flags;
    for (int i = 7; i >= 0; --i) {
      data[pos + 16 + i] = static_cast<char>(v & 0xff);
      v >>= 8;
    }
    // The file starts with its own generation counter (8 bytes, big-endian); a module that has
    // the token open reads the file again only when that counter moved: move it.
    for (int i = 7; i >= 0 && ++reinterpret_cast<unsigned char&>(data[i]) == 0; --i) {
    }
    std::ofstream out(obj, std::ios::binary | std::ios::trunc);
    out << data;
    return static_cast<bool>(out);
  }
  return false;
}

// ---- swtpm --------------------------------------------------------------------------------

Swtpm::Swtpm() : dir_("grafos-swtpm") {
  fs::create_directory(dir_.path() / "state");
  int devnull = ::open("/dev/null", O_WRONLY);
  pid_ = spawn({"swtpm", "socket", "--tpm2", "--flags", "not-need-init,startup-clear", "--tpmstate",
                "dir=" + (dir_.path() / "state").string(), "--server",
                "type=unixio,path=" + (dir_.path() / "tpm.sock").string(), "--ctrl",
                "type=unixio,path=" + (dir_.path() / "tpm.sock.ctrl").string()},
               {}, devnull);
  ::close(devnull);
  for (int i = 0; i < 500 && !fs::exists(dir_.path() / "tpm.sock"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!fs::exists(dir_.path() / "tpm.sock")) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

Swtpm::~Swtpm() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int st;
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, &st, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &st, 0);
  }
}

std::string Swtpm::tcti() const { return "swtpm:path=" + (dir_.path() / "tpm.sock").string(); }

std::map<std::string, std::string> Swtpm::env() const { return {{"TPM2TOOLS_TCTI", tcti()}}; }

bool Swtpm::set_lockout(unsigned max_tries) {
  return run_command({"tpm2_dictionarylockout", "-c"}, env()).status == 0 &&
         run_command({"tpm2_dictionarylockout", "-s", "-n", std::to_string(max_tries), "-t", "1",
                      "-l", "1"},
                     env())
                 .status == 0;
}

bool Swtpm::flush_transient() {
  return run_command({"tpm2_flushcontext", "-t"}, env()).status == 0 &&
         run_command({"tpm2_flushcontext", "-s"}, env()).status == 0;
}

long Swtpm::lockout_counter() {
  auto r = run_command({"tpm2_getcap", "properties-variable"}, env());
  if (r.status != 0) return -1;
  auto pos = r.output.find("TPM2_PT_LOCKOUT_COUNTER:");
  if (pos == std::string::npos) return -1;
  return std::strtol(r.output.c_str() + pos + 24, nullptr, 0);
}

// ---- tpm2-pkcs11 --------------------------------------------------------------------------

Tpm2Pkcs11Token::Tpm2Pkcs11Token(Swtpm& tpm, std::string label, std::string pin, std::string so_pin)
    : tpm_(tpm),
      dir_("grafos-tpm2pkcs11"),
      label_(std::move(label)),
      pin_(std::move(pin)),
      so_pin_(std::move(so_pin)) {
  fs::create_directory(dir_.path() / "store");
  for (auto& [k, v] : env()) ::setenv(k.c_str(), v.c_str(), 1);
  write_private_file(pin_file(), pin_ + "\n");
  fs::path so_pin_file = dir_.path() / (label_ + ".so-pin");
  write_private_file(so_pin_file, so_pin_ + "\n");
  error_ = init_token_from_files(module_path(), label_, so_pin_file, pin_file(), env());
}

std::string Tpm2Pkcs11Token::uri(const std::string& object) const {
  std::string u = "pkcs11:token=" + label_;
  if (!object.empty()) u += ";object=" + object;
  return u + "?module-path=" + module_path() + "&pin-source=file:" + pin_file().string();
}

std::map<std::string, std::string> Tpm2Pkcs11Token::env() const {
  return {{"TPM2_PKCS11_TCTI", tpm_.tcti()},
          {"TPM2_PKCS11_STORE", (dir_.path() / "store").string()},
          {"TSS2_LOG", "all+none"}};
}

// ---- raw PKCS#11 probe --------------------------------------------------------------------

Pkcs11Probe::Pkcs11Probe(const std::string& module) {
  dl_ = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!dl_) return;
  auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(dl_, "C_GetFunctionList"));
  CK_FUNCTION_LIST_PTR fl = nullptr;
  if (!get || get(&fl) != CKR_OK) return;
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = fl->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) return;
  initialised_ = rv == CKR_OK;
  fl_ = fl;
}

Pkcs11Probe::~Pkcs11Probe() {
  if (fl_) {
    for (auto& [label, s] : sessions_) fl_->C_CloseSession(s);
    if (initialised_) fl_->C_Finalize(nullptr);
  }
  if (dl_) dlclose(dl_);
}

std::vector<unsigned long> Pkcs11Probe::slots_with_token() {
  if (!fl_) return {};
  CK_ULONG n = 0;
  if (fl_->C_GetSlotList(CK_TRUE, nullptr, &n) != CKR_OK) return {};
  std::vector<CK_SLOT_ID> slots(n);
  if (fl_->C_GetSlotList(CK_TRUE, slots.data(), &n) != CKR_OK) return {};
  slots.resize(n);
  return {slots.begin(), slots.end()};
}

std::optional<unsigned long> Pkcs11Probe::slot_of(const std::string& label) {
  for (CK_SLOT_ID slot : slots_with_token()) {
    CK_TOKEN_INFO ti{};
    if (fl_->C_GetTokenInfo(slot, &ti) != CKR_OK) continue;
    std::string l(reinterpret_cast<char*>(ti.label), sizeof ti.label);
    while (!l.empty() && l.back() == ' ') l.pop_back();
    if (l == label) return slot;
  }
  return std::nullopt;
}

std::optional<unsigned long> Pkcs11Probe::free_slot() {
  for (CK_SLOT_ID slot : slots_with_token()) {
    CK_TOKEN_INFO ti{};
    if (fl_->C_GetTokenInfo(slot, &ti) == CKR_OK && !(ti.flags & CKF_TOKEN_INITIALIZED))
      return slot;
  }
  return std::nullopt;
}

std::optional<unsigned long> Pkcs11Probe::token_flags(const std::string& label) {
  auto slot = slot_of(label);
  if (!slot) return std::nullopt;
  CK_TOKEN_INFO ti{};
  if (fl_->C_GetTokenInfo(*slot, &ti) != CKR_OK) return std::nullopt;
  return ti.flags;
}

unsigned long Pkcs11Probe::session_for(const std::string& label) {
  if (auto it = sessions_.find(label); it != sessions_.end()) return it->second;
  auto slot = slot_of(label);
  if (!slot) return CK_INVALID_HANDLE;
  CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
  if (fl_->C_OpenSession(*slot, CKF_SERIAL_SESSION, nullptr, nullptr, &s) != CKR_OK)
    return CK_INVALID_HANDLE;
  sessions_[label] = s;
  return s;
}

unsigned long Pkcs11Probe::login(const std::string& label, const std::string& pin) {
  CK_SESSION_HANDLE s = session_for(label);
  if (s == CK_INVALID_HANDLE) return CKR_TOKEN_NOT_PRESENT;
  std::string p = pin;
  return fl_->C_Login(s, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(p.data()), p.size());
}

std::vector<std::map<unsigned long, bool>> Pkcs11Probe::bool_attributes(
    const std::string& label, const std::string& object, unsigned long cls,
    const std::vector<unsigned long>& types) {
  std::vector<std::map<unsigned long, bool>> out;
  CK_SESSION_HANDLE s = session_for(label);
  if (s == CK_INVALID_HANDLE) return out;
  CK_OBJECT_CLASS c = cls;
  std::string l = object;
  CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &c, sizeof c}, {CKA_LABEL, l.data(), l.size()}};
  if (fl_->C_FindObjectsInit(s, tmpl, 2) != CKR_OK) return out;
  CK_OBJECT_HANDLE h[16];
  CK_ULONG n = 0;
  fl_->C_FindObjects(s, h, 16, &n);
  fl_->C_FindObjectsFinal(s);
  for (CK_ULONG i = 0; i < n; ++i) {
    std::map<unsigned long, bool> m;
    for (auto t : types) {
      CK_BBOOL v = CK_FALSE;
      CK_ATTRIBUTE a = {t, &v, sizeof v};
      if (fl_->C_GetAttributeValue(s, h[i], &a, 1) == CKR_OK && a.ulValueLen == sizeof v)
        m[t] = v == CK_TRUE;
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace grafos::test
