// The Merkle tree of RFC 6962 section 2.1 (RFC 9162 section 2.1) over SHA-256, for the CA's
// ceremony transcript: leaf hash SHA-256(0x00 || entry), node hash SHA-256(0x01 || left || right),
// inclusion and consistency proofs, and their verification. A verifier needs nothing but the
// hashes: no key, no network.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace grafos::pki::merkle {

/// A SHA-256 hash: a leaf hash, a subtree root or a tree root.
using Hash = std::array<unsigned char, 32>;

/// SHA-256(0x00 || entry): the hash of one transcript entry as a leaf.
Hash leaf_hash(std::span<const unsigned char> entry);
inline Hash leaf_hash(std::string_view entry) {
  return leaf_hash(std::span<const unsigned char>(
      reinterpret_cast<const unsigned char*>(entry.data()), entry.size()));
}

/// SHA-256(0x01 || left || right): an interior node.
Hash node_hash(const Hash& left, const Hash& right);

/// MTH over the leaf hashes `leaves` (RFC 6962 2.1); the empty tree's root is SHA-256("").
Hash root(std::span<const Hash> leaves);

/// The audit path of leaf `index` in the tree of `leaves` (RFC 6962 2.1.1). index < size.
std::vector<Hash> inclusion_proof(std::span<const Hash> leaves, std::size_t index);

/// Whether `proof` shows that `leaf` is leaf `index` of the tree of `size` leaves with `root`
/// (RFC 9162 2.1.3.2).
bool verify_inclusion(const Hash& leaf, std::uint64_t index, std::uint64_t size,
                      std::span<const Hash> proof, const Hash& root);

/// The consistency proof between the tree of the first `old_size` leaves and the tree of all
/// `leaves` (RFC 6962 2.1.2). 0 < old_size <= leaves.size(); empty when the sizes are equal.
std::vector<Hash> consistency_proof(std::span<const Hash> leaves, std::size_t old_size);

/// Whether `proof` shows that the tree (old_size, old_root) is a prefix of the tree (new_size,
/// new_root) (RFC 9162 2.1.4.2). Equal sizes need an empty proof and equal roots; an empty old
/// tree is a prefix of every tree.
bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root,
                        const Hash& new_root, std::span<const Hash> proof);

}  // namespace grafos::pki::merkle
