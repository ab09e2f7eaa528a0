#include "pki/merkle.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/bytes.hpp"

using namespace grafos;
using namespace grafos::pki::merkle;

namespace {

Hash hash_of(std::string_view hex) {
  auto b = from_hex(hex);
  Hash h{};
  if (b && b->size() == h.size()) std::copy(b->begin(), b->end(), h.begin());
  return h;
}

// The RFC 6962 reference leaves and the root of each tree size 0..8 (the vectors Certificate
// Transparency's implementations share): a tree no other implementation agrees with proves
// nothing to an auditor.
const std::vector<std::string> kLeaves = {"",
                                          "00",
                                          "10",
                                          "2021",
                                          "3031",
                                          "40414243",
                                          "5051525354555657",
                                          "606162636465666768696a6b6c6d6e6f"};
const std::vector<std::string> kRoots = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

std::vector<Hash> reference_leaves() {
  std::vector<Hash> out;
  for (auto& l : kLeaves) {
    auto b = from_hex(l);
    out.push_back(leaf_hash(std::span<const unsigned char>(b->data(), b->size())));
  }
  return out;
}

std::vector<Hash> synthetic(std::size_t n) {
  std::vector<Hash> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(leaf_hash("entry " + std::to_string(i)));
  return out;
}

TEST(Merkle, RootsMatchRfc6962Vectors) {
  auto leaves = reference_leaves();
  for (std::size_t n = 0; n <= leaves.size(); ++n)
    EXPECT_EQ(to_hex(root(std::span(leaves).first(n))), kRoots[n]) << "size " << n;
}

TEST(Merkle, InclusionProofsMatchRfc6962Vectors) {
  auto leaves = reference_leaves();
  auto p0 = inclusion_proof(leaves, 0);
  ASSERT_EQ(p0.size(), 3u);
  EXPECT_EQ(to_hex(p0[0]), "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7");
  EXPECT_EQ(to_hex(p0[1]), "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e");
  EXPECT_EQ(to_hex(p0[2]), "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4");
  auto p5 = inclusion_proof(leaves, 5);
  ASSERT_EQ(p5.size(), 3u);
  EXPECT_EQ(to_hex(p5[0]), "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b");
  EXPECT_EQ(to_hex(p5[1]), "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0");
  EXPECT_EQ(to_hex(p5[2]), "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7");
}

TEST(Merkle, ConsistencyProofMatchesRfc6962Vector) {
  auto leaves = reference_leaves();
  auto p = consistency_proof(leaves, 2);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(to_hex(p[0]), "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e");
  EXPECT_EQ(to_hex(p[1]), "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4");
  EXPECT_TRUE(verify_consistency(2, 8, hash_of(kRoots[2]), hash_of(kRoots[8]), p));
}

// Every leaf of every tree size up to 40 proves its inclusion, and a wrong index, leaf, an index
// beyond the size, or a tampered or shortened path never does. (The root binds the size: a
// checkpoint signs both.)
TEST(Merkle, EveryInclusionProofVerifiesAndNothingElse) {
  auto all = synthetic(40);
  for (std::size_t n = 1; n <= all.size(); ++n) {
    auto tree = std::span(all).first(n);
    Hash r = root(tree);
    for (std::size_t i = 0; i < n; ++i) {
      auto p = inclusion_proof(tree, i);
      ASSERT_TRUE(verify_inclusion(tree[i], i, n, p, r)) << i << " of " << n;
      EXPECT_FALSE(verify_inclusion(tree[i], n, n, p, r));
      if (n > 1) {
        EXPECT_FALSE(verify_inclusion(tree[(i + 1) % n], i, n, p, r));
        EXPECT_FALSE(verify_inclusion(tree[i], (i + 1) % n, n, p, r));
        auto bad = p;
        bad.back()[0] ^= 1;
        EXPECT_FALSE(verify_inclusion(tree[i], i, n, bad, r));
        bad = p;
        bad.pop_back();
        EXPECT_FALSE(verify_inclusion(tree[i], i, n, bad, r));
      }
    }
  }
}

// Every pair of sizes m <= n up to 40 is consistent; a changed old leaf, a wrong root or a
// tampered proof is not.
TEST(Merkle, EveryConsistencyProofVerifiesAndNothingElse) {
  auto all = synthetic(40);
  for (std::size_t n = 1; n <= all.size(); ++n) {
    auto tree = std::span(all).first(n);
    Hash rn = root(tree);
    for (std::size_t m = 1; m <= n; ++m) {
      Hash rm = root(tree.first(m));
      auto p = consistency_proof(tree, m);
      ASSERT_TRUE(verify_consistency(m, n, rm, rn, p)) << m << " -> " << n;
      if (m < n) {
        auto changed = std::vector<Hash>(tree.begin(), tree.end());
        changed[m - 1][0] ^= 1;
        EXPECT_FALSE(verify_consistency(m, n, root(std::span(changed).first(m)), rn, p));
        EXPECT_FALSE(verify_consistency(m, n, rm, root(changed), p));
        auto bad = p;
        bad.front()[31] ^= 1;
        EXPECT_FALSE(verify_consistency(m, n, rm, rn, bad));
        EXPECT_FALSE(verify_consistency(m, n, rm, rn, {}));
        EXPECT_FALSE(verify_consistency(n, m, rn, rm, p));
      }
    }
  }
  EXPECT_TRUE(verify_consistency(0, 5, Hash{}, root(std::span(all).first(5)), {}));
}

}  // namespace
