// A main() for the fuzz targets in the normal (g++) build: feeds every file of the given corpus
// directories (or files) to LLVMFuzzerTestOneInput once, in name order, and prints the deepest
// stage each one reached. With --expect FILE (lines "<seed file name> <stage>", '#' comments),
// every listed seed must exist and reach exactly that stage; exit status 1 otherwise. A seed that
// crashes the target crashes this driver too.
//
//   build/tests/fuzz/identity_fuzz_seeds --expect tests/fuzz/corpus/identity.expect
//       tests/fuzz/corpus/identity          (one command line)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::map<std::string, std::string> expect;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--expect" && i + 1 < argc) {
      std::ifstream in(argv[++i]);
      if (!in) {
        std::cerr << "cannot read " << argv[i] << '\n';
        return 2;
      }
      std::string line;
      while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string name, stage;
        fields >> name >> stage;
        if (!name.empty()) expect[name] = stage;
      }
      continue;
    }
    fs::path p(a);
    if (fs::is_directory(p)) {
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::cerr << "usage: " << argv[0] << " [--expect FILE] CORPUS_DIR|FILE...\n";
    return 2;
  }
  int failures = 0;
  std::map<std::string, bool> seen;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    grafos::fuzz::deepest_stage() = nullptr;
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    const char* got = grafos::fuzz::deepest_stage();
    std::string stage = got ? got : "none";
    std::string name = f.filename().string();
    std::cout << name << ": " << stage;
    if (auto it = expect.find(name); it != expect.end()) {
      seen[name] = true;
      if (it->second != stage) {
        std::cout << "   <-- expected " << it->second;
        ++failures;
      }
    }
    std::cout << '\n';
  }
  for (const auto& [name, stage] : expect)
    if (!seen.count(name)) {
      std::cout << name << ": missing from the corpus (expected " << stage << ")\n";
      ++failures;
    }
  std::cout << files.size() << " inputs, " << expect.size() << " expectations, " << failures
            << " failed\n";
  return failures ? 1 : 0;
}
