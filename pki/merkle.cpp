#include "pki/merkle.hpp"

#include <openssl/evp.h>

#include <bit>

namespace grafos::pki::merkle {
namespace {

// SHA-256 over the concatenation of `parts`. The context is reused per thread: verifying a
// transcript of 100,000 entries hashes about 300,000 times.
Hash sha256(std::initializer_list<std::span<const unsigned char>> parts) {
  thread_local EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  Hash out{};
  unsigned int n = 0;
  // Failures here mean the process cannot hash at all; the zero hash then never verifies.
  if (!ctx || !md || EVP_DigestInit_ex(ctx, md, nullptr) != 1) return out;
  for (auto p : parts)
    if (EVP_DigestUpdate(ctx, p.data(), p.size()) != 1) return Hash{};
  if (EVP_DigestFinal_ex(ctx, out.data(), &n) != 1) return Hash{};
  return out;
}

constexpr unsigned char kLeafPrefix[1] = {0x00};
constexpr unsigned char kNodePrefix[1] = {0x01};

// The largest power of two smaller than n (n > 1).
std::size_t split_point(std::size_t n) { return std::bit_floor(n - 1); }

// MTH of a non-empty range of leaf hashes.
Hash subtree_root(std::span<const Hash> leaves) {
  if (leaves.size() == 1) return leaves[0];
  std::size_t k = split_point(leaves.size());
  return node_hash(subtree_root(leaves.first(k)), subtree_root(leaves.subspan(k)));
}

void path(std::span<const Hash> leaves, std::size_t m, std::vector<Hash>& out) {
  if (leaves.size() <= 1) return;
  std::size_t k = split_point(leaves.size());
  if (m < k) {
    path(leaves.first(k), m, out);
    out.push_back(subtree_root(leaves.subspan(k)));
  } else {
    path(leaves.subspan(k), m - k, out);
    out.push_back(subtree_root(leaves.first(k)));
  }
}

void subproof(std::span<const Hash> leaves, std::size_t m, bool complete, std::vector<Hash>& out) {
  std::size_t n = leaves.size();
  if (m == n) {
    if (!complete) out.push_back(subtree_root(leaves));
    return;
  }
  std::size_t k = split_point(n);
  if (m <= k) {
    subproof(leaves.first(k), m, complete, out);
    out.push_back(subtree_root(leaves.subspan(k)));
  } else {
    subproof(leaves.subspan(k), m - k, false, out);
    out.push_back(subtree_root(leaves.first(k)));
  }
}

}  // namespace

Hash leaf_hash(std::span<const unsigned char> entry) { return sha256({kLeafPrefix, entry}); }

Hash node_hash(const Hash& left, const Hash& right) { return sha256({kNodePrefix, left, right}); }

Hash root(std::span<const Hash> leaves) {
  if (leaves.empty()) return sha256({});
  return subtree_root(leaves);
}

std::vector<Hash> inclusion_proof(std::span<const Hash> leaves, std::size_t index) {
  std::vector<Hash> out;
  if (index < leaves.size()) path(leaves, index, out);
  return out;
}

bool verify_inclusion(const Hash& leaf, std::uint64_t index, std::uint64_t size,
                      std::span<const Hash> proof, const Hash& root_hash) {
  if (index >= size) return false;
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = node_hash(p, r);
      if (!(fn & 1))
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root_hash;
}

std::vector<Hash> consistency_proof(std::span<const Hash> leaves, std::size_t old_size) {
  std::vector<Hash> out;
  if (old_size == 0 || old_size >= leaves.size()) return out;
  subproof(leaves, old_size, true, out);
  return out;
}

bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root,
                        const Hash& new_root, std::span<const Hash> proof) {
  if (old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (old_size == 0) return proof.empty();
  if (proof.empty()) return false;
  std::vector<Hash> c(proof.begin(), proof.end());
  if (std::has_single_bit(old_size)) c.insert(c.begin(), old_root);
  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = c[0];
  Hash sr = c[0];
  for (std::size_t i = 1; i < c.size(); ++i) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = node_hash(c[i], fr);
      sr = node_hash(c[i], sr);
      if (!(fn & 1))
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      sr = node_hash(sr, c[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace grafos::pki::merkle
