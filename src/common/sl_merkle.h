/*
 * sl_merkle.h - RFC 6962 / RFC 9162 Merkle tree math (pure C, libsodium SHA-256).
 *
 * Leaf hash  = SHA-256(0x00 || entry)
 * Node hash  = SHA-256(0x01 || left || right)
 * Empty tree = SHA-256("")
 *
 * Trees are given as arrays of leaf hashes. Proofs are arrays of 32-byte
 * hashes ordered from the leaf upwards, exactly as RFC 9162 section 2.1
 * defines PATH and PROOF; the verifiers implement sections 2.1.3.2 and
 * 2.1.4.2 literally, so any RFC-conforming verifier accepts our proofs.
 */
#ifndef SL_MERKLE_H
#define SL_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define SL_HASH_LEN 32
/* a proof never holds more hashes than this (trees up to 2^63 leaves) */
#define SL_MERKLE_MAX_PROOF 128

typedef uint8_t sl_hash[SL_HASH_LEN];

void		sl_merkle_leaf_hash(const uint8_t *entry, size_t len, sl_hash out);
void		sl_merkle_node_hash(const sl_hash left, const sl_hash right, sl_hash out);

/* MTH(D[0:n]) over leaf hashes; n may be 0 (the empty-tree hash). */
void		sl_merkle_root(const sl_hash *leaves, uint64_t n, sl_hash out);

/*
 * Inclusion proof of leaf `index` in the tree of the first n leaves.
 * Writes at most cap hashes; returns the proof length, or -1 when
 * index >= n or cap is too small.
 */
int			sl_merkle_inclusion_proof(const sl_hash *leaves, uint64_t n, uint64_t index,
									  sl_hash *proof, size_t cap);

/* Consistency proof between sizes m and n (0 < m < n); -1 on bad sizes. */
int			sl_merkle_consistency_proof(const sl_hash *leaves, uint64_t m, uint64_t n,
										sl_hash *proof, size_t cap);

/*
 * Node sources: fn returns the hash of the perfect subtree (level, index),
 * covering leaves [index << level, (index + 1) << level), 0 on success and
 * -1 when it cannot. The _src functions need only those nodes, O(log^2 n)
 * of them at most, so a database can answer proofs from stored nodes.
 */
typedef int (*sl_node_fn) (void *ctx, int level, uint64_t index, sl_hash out);

/* MTH(D[a:b]) from a node source; -1 when the source fails. */
int			sl_merkle_range_hash(sl_node_fn fn, void *ctx, uint64_t a, uint64_t b, sl_hash out);
int			sl_merkle_inclusion_proof_src(sl_node_fn fn, void *ctx, uint64_t n, uint64_t index,
										  sl_hash *proof, size_t cap);
int			sl_merkle_consistency_proof_src(sl_node_fn fn, void *ctx, uint64_t m, uint64_t n,
											sl_hash *proof, size_t cap);

/*
 * Appending leaves. The frontier (compact range) of a tree of n leaves is
 * the popcount(n) roots of the perfect subtrees of n's binary decomposition,
 * largest first; it needs room for 64 + 1 hashes. Appending the leaf numbered
 * n completes the nodes at levels 1..k (k = trailing one bits of n), written
 * to completed[0..k-1] (room for 64); returns k.
 */
#define SL_MERKLE_FRONTIER_CAP 65
int			sl_merkle_frontier_append(sl_hash *frontier, uint64_t n, const sl_hash leaf,
									  sl_hash *completed);
/* MTH of the tree whose frontier is given (n leaves). */
void		sl_merkle_frontier_root(const sl_hash *frontier, uint64_t n, sl_hash out);

/* 1 if the proof shows leaf_hash at index in the tree of size with root. */
int			sl_merkle_verify_inclusion(uint64_t index, uint64_t size, const sl_hash leaf_hash,
									   const sl_hash *proof, size_t plen, const sl_hash root);

/* 1 if the proof shows the tree of size m (root1) is a prefix of size n (root2). */
int			sl_merkle_verify_consistency(uint64_t m, uint64_t n, const sl_hash root1,
										 const sl_hash root2, const sl_hash *proof, size_t plen);

#endif
