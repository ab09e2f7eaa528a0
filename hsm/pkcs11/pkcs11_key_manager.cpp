// The PKCS#11 KeyManager: the contract (hsm/key_manager.hpp) over the pieces in this folder,
// after Botan's prov/pkcs11 split:
//   p11_error    return-code names and advice
//   p11_module   module loading and lifetime
//   p11_session  slot and token lookup, the read-write session
//   p11_login    the login policy (token-safety rules, PIN sources)
//   p11_object   key lookup, key generation, object destruction, signers
#include "hsm/pkcs11/pkcs11_key_manager.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "hsm/pkcs11/p11_login.hpp"
#include "hsm/pkcs11/p11_object.hpp"
#include "hsm/pkcs11/p11_session.hpp"
#include "hsm/uri.hpp"

namespace grafos::hsm {
namespace {

class Pkcs11KeyManager final : public KeyManager {
 public:
  Backend backend() const override { return Backend::pkcs11; }
  Pkcs11KeyManager(Pkcs11Uri base, std::string redacted, const Interaction& in,
                   std::shared_ptr<p11::Token> token)
      : base_(std::move(base)), where_(std::move(redacted)), in_(in), token_(std::move(token)) {}

  Result<std::unique_ptr<Signer>> create_key(const CreateKeyRequest& req) override {
    created_.clear();
    std::string where = redact_key_ref(req.ref);
    auto u = parse_for_this_token(req.ref, where);
    if (!u) return std::move(u).error();
    std::string label = !req.label.empty() ? req.label : u->object.value_or("");
    if (label.empty() && !u->id)
      return Error{Errc::usage, where + ": name the new key with object= (or id=) in the URI"};
    if (auto r = p11::login(*token_, base_, in_, where_); !r) return std::move(r).error();

    // Refuse to shadow an existing object of that label or id, unless told to replace it.
    std::vector<CK_OBJECT_HANDLE> existing;
    if (!label.empty()) {
      auto found = p11::find_objects(*token_, CKA_LABEL, label.data(), label.size(), where);
      if (!found) return std::move(found).error();
      existing = std::move(*found);
    }
    if (u->id) {
      auto found = p11::find_objects(*token_, CKA_ID, u->id->data(), u->id->size(), where);
      if (!found) return std::move(found).error();
      for (auto h : *found)
        if (std::find(existing.begin(), existing.end(), h) == existing.end()) existing.push_back(h);
    }
    if (!existing.empty() && !req.replace)
      return Error{Errc::exists, where + ": token '" + token_->label + "' already holds " +
                                     std::to_string(existing.size()) +
                                     (existing.size() == 1 ? " object" : " objects") +
                                     " with this label/id; refusing to create a second key of "
                                     "that name"};
    if (!existing.empty()) {
      if (auto r = p11::destroy_objects(*token_, existing, "the key being replaced", where); !r)
        return std::move(r).error();
      if (auto r = token_->refresh_slots(where); !r) return std::move(r).error();
    }

    Bytes id;
    if (u->id) {
      id = *u->id;
    } else {
      id.resize(16);
      if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1)
        return ossl_error(Errc::crypto, "generating a CKA_ID");
    }
    auto made = p11::generate_ec_p256(*token_, label, id, where);
    if (!made) return std::move(made).error();
    created_ = std::move(*made);

    Pkcs11Uri named = std::move(*u);
    if (!label.empty()) named.object = label;
    named.id = id;
    return p11::open_signer(token_, named, where);
  }

  Result<void> discard_created_key() override {
    if (created_.empty()) return ok();
    Result<void> r = p11::destroy_objects(*token_, std::exchange(created_, {}),
                                          "the key made by this run", where_);
    if (auto refreshed = token_->refresh_slots(where_); !refreshed && r) r = std::move(refreshed);
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
    if (auto r = p11::login(*token_, base_, in_, where_); !r) return std::move(r).error();
    return p11::open_signer(token_, u, where);
  }

  Result<Pkcs11Uri> parse_for_this_token(std::string_view ref, const std::string& where) {
    auto u = parse_pkcs11_uri(ref);
    if (!u) return std::move(u).error().context(where);
    if (u->module_path.empty()) u->module_path = base_.module_path;
    if (!p11::same_token(*u, base_))
      return Error{Errc::usage, where + ": names another module or token than this key manager (" +
                                    where_ + "); open a key manager for it"};
    return u;
  }

  Pkcs11Uri base_;
  std::string where_;
  Interaction in_;
  std::shared_ptr<p11::Token> token_;
  std::vector<CK_OBJECT_HANDLE> created_;  // the key pair the last create_key generated
};

// Opens the module and the token a parsed URI names.
Result<std::unique_ptr<Pkcs11KeyManager>> open_manager(Result<Pkcs11Uri> u, std::string where,
                                                       const Interaction& interaction) {
  if (!u) return std::move(u).error().context(where);
  auto token = p11::open_token(*u, where);
  if (!token) return std::move(token).error();
  return std::make_unique<Pkcs11KeyManager>(std::move(*u), std::move(where), interaction,
                                            std::move(*token));
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
