#include "pki/checkpoint.hpp"

#include <openssl/x509.h>

#include <charconv>

#include "util/base64.hpp"
#include "util/bytes.hpp"
#include "util/ossl.hpp"

namespace grafos::pki {
namespace {

constexpr std::string_view kDash = "\xE2\x80\x94 ";  // U+2014 EM DASH, then a space

std::span<const unsigned char> bytes_of(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

Error bad_note(const std::string& why) {
  return make_error(Errc::invalid_input, "signed note: " + why);
}

}  // namespace

std::string checkpoint_body(const Checkpoint& c) {
  return c.origin + "\n" + std::to_string(c.size) + "\n" + base64_encode(c.root) + "\n";
}

Result<Checkpoint> parse_checkpoint_body(std::string_view body) {
  auto refuse = [](const std::string& why) {
    return make_error(Errc::invalid_input, "checkpoint: " + why);
  };
  std::string_view lines[3];
  std::string_view rest = body;
  for (auto& l : lines) {
    auto nl = rest.find('\n');
    if (nl == std::string_view::npos) return refuse("fewer than three lines");
    l = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
  }
  if (!rest.empty()) return refuse("extension lines are not used by grafos-ca");
  Checkpoint c;
  if (lines[0].empty()) return refuse("empty origin line");
  for (char ch : lines[0])
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
      return refuse("control byte in the origin line");
  c.origin = std::string(lines[0]);
  auto size = lines[1];
  auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), c.size);
  if (size.empty() || ec != std::errc() || end != size.data() + size.size() ||
      (size.size() > 1 && size[0] == '0'))
    return refuse("tree size '" + std::string(size.substr(0, 24)) + "' is not a canonical decimal");
  auto root = base64_decode(lines[2]);
  if (!root || root->size() != c.root.size())
    return refuse("root hash line is not 32 bytes of base64");
  std::copy(root->begin(), root->end(), c.root.begin());
  return c;
}

Result<merkle::Hash> public_key_sha256(EVP_PKEY* pub) {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(pub, &der);
  if (n <= 0) return ossl_error(Errc::crypto, "encoding a public key");
  merkle::Hash md{};
  unsigned int len = 0;
  int ok = EVP_Digest(der, static_cast<size_t>(n), md.data(), &len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  if (ok != 1) return ossl_error(Errc::crypto, "hashing a public key");
  return md;
}

Result<std::uint32_t> note_key_id(EVP_PKEY* pub) {
  auto md = public_key_sha256(pub);
  if (!md) return md.error();
  return (std::uint32_t{(*md)[0]} << 24) | (std::uint32_t{(*md)[1]} << 16) |
         (std::uint32_t{(*md)[2]} << 8) | std::uint32_t{(*md)[3]};
}

Result<std::string> sign_note(std::string_view text, std::string_view key_name,
                              hsm::Signer& signer) {
  if (text.empty() || text.back() != '\n') return bad_note("the text must end in a newline");
  if (key_name.empty() || key_name.find_first_of(" \n+") != std::string_view::npos)
    return bad_note("key name '" + std::string(key_name) + "' is empty or has a space or '+'");
  auto id = note_key_id(signer.public_key());
  if (!id) return id.error();
  auto sig = signer.sign(bytes_of(text));
  if (!sig) return std::move(sig).error().context("signing the checkpoint");
  // Verify before release: a faulty HSM must not produce a checkpoint that does not verify.
  if (auto v = hsm::verify_signature(signer.public_key(), bytes_of(text), *sig); !v)
    return make_error(Errc::crypto,
                      "the checkpoint signature does not verify with the CA public key (the key "
                      "backend returned a bad signature; nothing was written)");
  Bytes blob = {static_cast<unsigned char>(*id >> 24), static_cast<unsigned char>(*id >> 16),
                static_cast<unsigned char>(*id >> 8), static_cast<unsigned char>(*id)};
  blob.insert(blob.end(), sig->begin(), sig->end());
  std::string note(text);
  note += "\n";
  note += kDash;
  note += key_name;
  note += ' ';
  note += base64_encode(blob);
  note += '\n';
  return note;
}

Result<std::string> open_note(std::string_view note, std::string_view key_name, EVP_PKEY* pub) {
  // The text ends at the blank line before the first signature line ("\n\n— ").
  auto split = note.find(std::string("\n\n") + std::string(kDash));
  if (split == std::string_view::npos) return bad_note("no blank line before the signatures");
  std::string_view text = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n')
    return bad_note("the signature lines must end in a newline");
  auto id = note_key_id(pub);
  if (!id) return id.error();
  bool found = false;
  while (!sigs.empty()) {
    auto nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (!line.starts_with(kDash)) return bad_note("a signature line does not start with '— '");
    line.remove_prefix(kDash.size());
    auto sp = line.find(' ');
    if (sp == std::string_view::npos) return bad_note("a signature line has no signature");
    if (line.substr(0, sp) != key_name) continue;
    auto blob = base64_decode(line.substr(sp + 1));
    if (!blob || blob->size() < 5)
      return bad_note("a signature is not base64 of key ID + signature");
    std::uint32_t got = (std::uint32_t{(*blob)[0]} << 24) | (std::uint32_t{(*blob)[1]} << 16) |
                        (std::uint32_t{(*blob)[2]} << 8) | std::uint32_t{(*blob)[3]};
    if (got != *id) continue;
    found = true;
    auto v = hsm::verify_signature(
        pub, bytes_of(text), std::span<const unsigned char>(blob->data() + 4, blob->size() - 4));
    if (!v)
      return make_error(Errc::mismatch, "signed note: the signature of '" + std::string(key_name) +
                                            "' does not verify (the text was changed, or another "
                                            "key signed it)");
  }
  if (!found)
    return make_error(Errc::mismatch, "signed note: no signature by '" + std::string(key_name) +
                                          "' with this CA's key");
  return std::string(text);
}

}  // namespace grafos::pki
